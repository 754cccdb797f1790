import pytest
from django.urls import reverse

from accounts.models import AuditEvent, CompanyDomain, User
from tests.accounts.factories import CompanyDomainFactory
from tests.offices.factories import OfficeFactory

pytestmark = pytest.mark.django_db


def test_index_groups_models_under_company_headings(company_admin_client):
    response = company_admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    titles = [app["name"] for app in response.context["app_list"]]
    assert titles[0] == "My Company"
    assert {"Users", "Audit log"} <= set(titles)
    assert "Platform" not in titles  # operators only
    # The sidebar groups the same way, not by Django app.
    assert [app["name"] for app in response.context["available_apps"]] == titles
    body = response.content.decode()
    assert "Admin Settings" in body
    assert "Acme" in body  # the admin's company is named in the header


def test_section_page_has_breadcrumbs(company_admin_client):
    response = company_admin_client.get(reverse("admin:section", args=["my-company"]))
    assert response.status_code == 200
    assert "Email domains" in response.content.decode()
    assert company_admin_client.get(reverse("admin:section", args=["nope"])).status_code == 404


def test_changelist_breadcrumbs_name_the_section(company_admin_client):
    response = company_admin_client.get(reverse("admin:accounts_companydomain_changelist"))
    body = response.content.decode()
    assert 'href="/admin/section/my-company/">My Company</a>' in body


def test_member_cannot_open_admin_settings(client, member):
    client.force_login(member)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 403
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403


def test_add_domain_through_form_is_audited(company_admin_client, company):
    response = company_admin_client.post(
        reverse("admin:accounts_companydomain_add"), {"domain": "Acme-Corp.Example"}
    )
    assert response.status_code == 302
    assert CompanyDomain.objects.get(company=company).domain == "acme-corp.example"
    assert AuditEvent.objects.filter(
        action="company.domain_added", actor_user__email="admin@acme.example"
    ).exists()


def test_service_refusal_is_a_form_error_and_nothing_is_saved(company_admin_client, other_company):
    CompanyDomainFactory(company=other_company, domain="taken.example", verified=True)
    response = company_admin_client.post(
        reverse("admin:accounts_companydomain_add"), {"domain": "taken.example"}
    )
    assert response.status_code == 200
    error = str(response.context["adminform"].form.errors["domain"])
    assert "taken.example is verified by another organization" in error
    assert other_company.name not in response.content.decode()
    # The service's own refusal (no model validator checks the domain's form) shows the same way.
    response = company_admin_client.post(
        reverse("admin:accounts_companydomain_add"), {"domain": "no spaces.example"}
    )
    assert response.status_code == 200
    assert "is not an email domain" in str(response.context["adminform"].form.errors["domain"])
    assert CompanyDomain.objects.count() == 1
    assert not AuditEvent.objects.filter(action="company.domain_added").exists()


def test_admin_adds_user_in_own_company(company_admin_client, company):
    response = company_admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "new@acme.example",
            "given_name": "New",
            "family_name": "Person",
            "role": "member",
            "title": "",
            "department": "",
            "password": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="new@acme.example")
    assert user.company == company
    assert not user.has_usable_password()


def test_a_user_added_without_an_office_sits_in_the_main_office(company_admin_client, company):
    main = OfficeFactory(company=company, name="HQ", is_main=True)
    OfficeFactory(company=company, name="Branch")
    form = company_admin_client.get(reverse("admin:accounts_user_add")).content.decode()
    assert '<option value="" selected>The main office</option>' in form
    response = company_admin_client.post(
        reverse("admin:accounts_user_add"),
        {"email": "new@acme.example", "given_name": "New", "role": "member", "office": ""},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(email="new@acme.example").office == main


def test_missing_object_is_404_not_redirect(company_admin_client):
    response = company_admin_client.get(reverse("admin:accounts_user_change", args=[999999]))
    assert response.status_code == 404


def test_audit_log_is_read_only(company_admin_client, company_admin):
    event = AuditEvent.objects.create(
        company=company_admin.company,
        action="x",
        actor_kind="system",
        actor_label="system",
        source="system",
    )
    assert (
        company_admin_client.get(reverse("admin:accounts_auditevent_changelist")).status_code == 200
    )
    assert (
        company_admin_client.post(
            reverse("admin:accounts_auditevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_no_list_filter_reads_another_admins_password_hash(company_admin_client, company):
    """The user list applied any lookup on a user's own fields: `?password__startswith=` told,
    a character at a time, another company admin's password hash."""
    from tests.accounts.factories import CompanyAdminFactory

    colleague = CompanyAdminFactory(company=company, email="colleague@acme.example")
    colleague.set_password("Colleague-secret-1")
    colleague.save()
    changelist = reverse("admin:accounts_user_changelist")
    for lookup in ("password__startswith", "password", "last_login__isnull", "id__gte"):
        value = colleague.password[:20] if lookup.startswith("password") else "1"
        response = company_admin_client.get(changelist, {lookup: value})
        assert response.status_code == 400, lookup
    # The page's own filters still work, however they are spelled in a link.
    assert company_admin_client.get(changelist, {"role__exact": "company_admin"}).status_code == 200
    assert company_admin_client.get(changelist, {"status": "active"}).status_code == 200


def test_add_user_form_offers_the_approver_role_with_help(company_admin_client, company):
    form = company_admin_client.get(reverse("admin:accounts_user_add"))
    body = form.content.decode()
    assert 'name="is_approver"' in body
    assert "Approvers approve or reject queued provisioning changes" in body
    assert "make them an approver" in body  # the role's help says how
    response = company_admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "reviewer@acme.example",
            "given_name": "Rita",
            "family_name": "Reviewer",
            "role": "member",
            "is_approver": "on",
            "license_type": "",
        },
    )
    assert response.status_code == 302
    reviewer = User.objects.get(email="reviewer@acme.example")
    assert reviewer.is_approver
    assert reviewer.role == "member"
    plain = company_admin_client.post(
        reverse("admin:accounts_user_add"),
        {"email": "m2@acme.example", "given_name": "M", "family_name": "Two", "role": "member"},
    )
    assert plain.status_code == 302
    assert not User.objects.get(email="m2@acme.example").is_approver
