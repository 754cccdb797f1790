"""Tenancy fails closed: as company A's admin, nothing of company B is ever visible or reachable.

The models are discovered from Admin Settings' registry, not listed by hand: a new admin page is
covered the moment it is registered (and fails here until its app registers a tenant object maker
in its tests' factories module).
"""

import re

import pytest
from django.urls import reverse

from accounts.admin_site import admin_site
from accounts.models import AuditEvent
from apikeys.models import APIKey
from approvals.models import PendingChange
from tests.accounts.factories import CompanyAdminFactory, CompanyFactory
from tests.tenancy import TENANT_OBJECT_MAKERS

REGISTERED = sorted(admin_site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.fixture
def two_companies(db):
    acme = CompanyFactory(slug="acme", name="Acme", seats=5)
    globex = CompanyFactory(slug="globex", name="Globex", seats=5)
    return acme, globex


@pytest.fixture
def acme_admin_client(client, two_companies):
    acme, _ = two_companies
    client.force_login(CompanyAdminFactory(company=acme, email="boss@acme.example"))
    return client


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_registered_admin_model_has_a_tenant_object_maker():
    missing = [model._meta.label for model, _ in REGISTERED if model not in TENANT_OBJECT_MAKERS]
    assert not missing, f"Register a @tenant_object maker for: {missing}"


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=lambda v: getattr(v, "__name__", "")
)
def test_other_company_objects_are_invisible(model, model_admin, acme_admin_client, two_companies):
    _, globex = two_companies
    foreign = TENANT_OBJECT_MAKERS[model](globex)

    changelist = acme_admin_client.get(url(model, "changelist"))
    if changelist.status_code == 200:
        shown = [obj.pk for obj in changelist.context["cl"].result_list]
        assert foreign.pk not in shown
        # Searching for the other company's object by its text finds nothing either.
        term = re.sub(r"[^\w@.-]", " ", str(foreign)).split()[0] if str(foreign).strip() else ""
        if term and model_admin.search_fields:
            found = acme_admin_client.get(url(model, "changelist"), {"q": term})
            assert foreign.pk not in [obj.pk for obj in found.context["cl"].result_list]
    else:
        assert changelist.status_code in {302, 403}

    for view in ("change", "delete", "history"):
        response = acme_admin_client.get(url(model, view, foreign.pk))
        assert response.status_code in {403, 404}, (view, response.status_code)
    post = acme_admin_client.post(url(model, "change", foreign.pk), {})
    assert post.status_code in {403, 404}
    post = acme_admin_client.post(url(model, "delete", foreign.pk), {"post": "yes"})
    assert post.status_code in {403, 404}
    assert model._default_manager.filter(pk=foreign.pk).exists()


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=lambda v: getattr(v, "__name__", "")
)
def test_foreign_key_choices_hold_only_own_company(
    model, model_admin, acme_admin_client, two_companies
):
    acme, globex = two_companies
    foreign_objects = {
        (type(obj), obj.pk) for obj in (maker(globex) for maker in TENANT_OBJECT_MAKERS.values())
    }
    own = TENANT_OBJECT_MAKERS[model](acme)
    for path in (url(model, "add"), url(model, "change", own.pk)):
        response = acme_admin_client.get(path)
        if response.status_code != 200 or "adminform" not in response.context:
            continue
        form = response.context["adminform"].form
        for name, field in form.fields.items():
            queryset = getattr(field, "queryset", None)
            if queryset is None:
                continue
            leaked = [obj for obj in queryset if (type(obj), obj.pk) in foreign_objects]
            assert not leaked, f"{model.__name__}.{name} offers {leaked}"


def test_autocomplete_never_offers_other_company_objects(acme_admin_client, two_companies):
    _acme, globex = two_companies
    foreign = {maker(globex) for maker in TENANT_OBJECT_MAKERS.values()}
    checked = 0
    for model, model_admin in REGISTERED:
        for field_name in model_admin.autocomplete_fields:
            remote = model._meta.get_field(field_name).remote_field.model
            response = acme_admin_client.get(
                reverse("admin:autocomplete"),
                {
                    "app_label": model._meta.app_label,
                    "model_name": model._meta.model_name,
                    "field_name": field_name,
                    "term": "",
                },
            )
            assert response.status_code in {200, 403}
            if response.status_code == 200:
                ids = {row["id"] for row in response.json()["results"]}
                leaked = [obj for obj in foreign if isinstance(obj, remote) and str(obj.pk) in ids]
                assert not leaked
            checked += 1
    if not checked:
        pytest.skip("no admin page uses autocomplete yet")


def test_platform_operator_sees_every_company(client, two_companies, django_user_model):
    operator = django_user_model.objects.create_superuser(
        email="ops@switchboard.example", password="x-long-password-1"
    )
    client.force_login(operator)
    from accounts.models import Company

    response = client.get(url(Company, "changelist"))
    assert {obj.slug for obj in response.context["cl"].result_list} == {"acme", "globex"}


# --- pages that are not a model's list: every Admin Settings link, the CSV export, reports ---


def _link_urls():
    return [
        reverse(link.url_name) + (f"?{link.query}" if link.query else "")
        for link in admin_site._links
    ]


@pytest.fixture
def globex_everywhere(two_companies):
    """One of every tenant object in globex, plus SCIM activity and a refusal of its own."""
    from accounts.audit import Source, record_audit
    from provisioning.activity import REFUSED
    from tests.apikeys.factories import make_api_key

    _, globex = two_companies
    made = [maker(globex) for maker in TENANT_OBJECT_MAKERS.values()]
    key, _ = make_api_key(globex, name="Secretglobex OneLogin")
    record_audit(
        actor=key,
        source=Source.SCIM,
        action=REFUSED,
        company=globex,
        after={"status": 400, "detail": "Secretglobex detail", "method": "POST", "path": "/x"},
    )
    return made


EXTRA_PAGES = [
    reverse("admin:accounts_auditevent_export"),
    reverse("admin:accounts_user_changelist") + "?ghost=1",
    reverse("admin:accounts_auditevent_changelist") + "?target=secret",
    reverse("admin:accounts_auditevent_changelist") + "?actor=secret",
]


@pytest.mark.parametrize("path", _link_urls() + EXTRA_PAGES)
def test_no_admin_page_shows_another_companys_data(acme_admin_client, globex_everywhere, path):
    response = acme_admin_client.get(path)
    assert response.status_code == 200, path
    content = (
        b"".join(response.streaming_content) if response.streaming else response.content
    ).decode()
    assert "globex" not in content.lower(), path


def test_user_actions_never_reach_another_companys_users(acme_admin_client, two_companies):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    from accounts.models import User, UserStatus
    from tests.offices.factories import OfficeFactory

    acme, globex = two_companies
    spy = TENANT_OBJECT_MAKERS[User](globex)
    foreign_office = OfficeFactory(company=globex, name="Secret globex office")
    OfficeFactory(company=acme, name="HQ", is_main=True)
    changelist = url(User, "changelist")
    acme_admin_client.post(changelist, {"action": "suspend_users", ACTION_CHECKBOX_NAME: [spy.pk]})
    page = acme_admin_client.post(
        changelist,
        {
            "action": "move_to_office",
            ACTION_CHECKBOX_NAME: [spy.pk],
            "apply": "1",
            "office": foreign_office.pk,
        },
    )
    spy.refresh_from_db()
    assert spy.status == UserStatus.ACTIVE
    assert spy.office_id != foreign_office.pk or spy.office_id is None
    assert "globex" not in page.content.decode().lower()
    history = acme_admin_client.get(url(User, "history", spy.pk))
    assert history.status_code == 404


# --- what a crafted query string or form reaches: the page's own filters, never a 500 ---


def _offered_filter_fields(model_admin, request):
    return {
        item if isinstance(item, str) else item[0]
        for item in model_admin.get_list_filter(request)
        if isinstance(item, (str, tuple, list))
    }


def _own_list_page(model, client, company):
    """The list of `model` (holding one object of the admin's company) and its page."""
    TENANT_OBJECT_MAKERS[model](company)
    changelist = url(model, "changelist")
    page = client.get(changelist)
    if page.status_code != 200:
        pytest.skip("no list for a company admin")
    return changelist, page


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=lambda v: getattr(v, "__name__", "")
)
def test_a_list_filters_by_nothing_its_page_does_not_offer(
    model, model_admin, acme_admin_client, two_companies
):
    """Any lookup on a model's own fields was applied as written: an oracle for what the page
    never shows (`?password__startswith=`), and the database's refusals (`__regex=[`, a year no
    date holds) were 500s. A lookup no filter of the page stands for is refused (400)."""
    acme, _ = two_companies
    changelist, page = _own_list_page(model, acme_admin_client, acme)
    offered = _offered_filter_fields(model_admin, page.wsgi_request)
    for field in model._meta.concrete_fields:
        if field.name in offered:
            continue
        response = acme_admin_client.get(changelist, {f"{field.name}__isnull": "0"})
        assert response.status_code == 400, field.name
    text_fields = [
        f.name for f in model._meta.concrete_fields if f.get_internal_type() == "CharField"
    ]
    for name in text_fields[:1]:
        assert acme_admin_client.get(changelist, {f"{name}__regex": "["}).status_code == 400
    if model_admin.date_hierarchy:
        year = f"{model_admin.date_hierarchy}__year"
        assert acme_admin_client.get(changelist, {year: "99999999999"}).status_code == 302


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=lambda v: getattr(v, "__name__", "")
)
def test_a_nul_in_any_filter_is_refused_not_a_500(
    model, model_admin, acme_admin_client, two_companies
):
    """PostgreSQL text cannot hold a NUL: a filter value with one reached the database (500)."""
    acme, _ = two_companies
    changelist, page = _own_list_page(model, acme_admin_client, acme)
    parameters = {p for spec in page.context["cl"].filter_specs for p in spec.expected_parameters()}
    for parameter in sorted(p for p in parameters if p):
        response = acme_admin_client.get(changelist, {parameter: "a\x00"})
        assert response.status_code == 400, parameter


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=lambda v: getattr(v, "__name__", "")
)
def test_actions_on_a_tampered_selection_change_nothing(
    model, model_admin, acme_admin_client, two_companies
):
    """Every action with ids that are no ids was a 500 (Django filters by them as posted); with
    the other company's ids it reaches none of its rows."""
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    acme, globex = two_companies
    foreign = TENANT_OBJECT_MAKERS[model](globex)
    changelist, page = _own_list_page(model, acme_admin_client, acme)
    actions = model_admin.get_actions(page.wsgi_request)
    if not actions:
        pytest.skip("no actions")
    events = AuditEvent.objects.count()
    for action in actions:
        for selection in (["abc"], ["1.5"], ["\x00"], [str(foreign.pk)]):
            for extra in ({}, {"post": "yes", "apply": "1"}):
                response = acme_admin_client.post(
                    changelist,
                    {"action": action, ACTION_CHECKBOX_NAME: selection, "index": 0, **extra},
                )
                assert response.status_code in {200, 302}, (action, selection)
                assert "globex" not in response.content.decode().lower()
    assert model._default_manager.filter(pk=foreign.pk).exists()
    assert AuditEvent.objects.count() == events  # nothing was changed, so nothing recorded


def test_autocomplete_of_every_relation_offers_only_own_company(acme_admin_client, two_companies):
    """Django's autocomplete answers for any relation of any model whose target has a search,
    not only the fields a page declares: each must stay within the company, and a term with a
    NUL was a 500."""
    from django.db.models import ForeignKey, ManyToManyField

    _acme, globex = two_companies
    foreign = [maker(globex) for maker in TENANT_OBJECT_MAKERS.values()]
    for model, _model_admin in REGISTERED:
        for field in model._meta.get_fields():
            if not isinstance(field, (ForeignKey, ManyToManyField)):
                continue
            for term in ("", "globex", "Secret", "a\x00"):
                response = acme_admin_client.get(
                    reverse("admin:autocomplete"),
                    {
                        "app_label": model._meta.app_label,
                        "model_name": model._meta.model_name,
                        "field_name": field.name,
                        "term": term,
                    },
                )
                assert response.status_code in {200, 403}, (model.__name__, field.name, term)
                if response.status_code == 200:
                    ids = {row["id"] for row in response.json()["results"]}
                    remote = field.remote_field.model
                    leaked = [o for o in foreign if isinstance(o, remote) and str(o.pk) in ids]
                    assert not leaked, (model.__name__, field.name, leaked)


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=lambda v: getattr(v, "__name__", "")
)
def test_every_choice_field_refuses_a_foreign_or_bogus_id_with_a_form_error(
    model, model_admin, acme_admin_client, two_companies
):
    """A form posted with the other company's row, or an id that is no id, in a choice field is
    shown again with the field's error, naming nothing of the other company. The autocomplete
    widget (a number's user) answered an id that is no id with a 500."""
    acme, globex = two_companies
    foreign_objects = [maker(globex) for maker in TENANT_OBJECT_MAKERS.values()]
    own = TENANT_OBJECT_MAKERS[model](acme)
    events = AuditEvent.objects.count()
    for path in (url(model, "add"), url(model, "change", own.pk)):
        page = acme_admin_client.get(path)
        if page.status_code != 200 or "adminform" not in page.context:
            continue
        for name, field in page.context["adminform"].form.fields.items():
            queryset = getattr(field, "queryset", None)
            if queryset is None:
                continue
            foreign = [o.pk for o in foreign_objects if isinstance(o, queryset.model)]
            for value in [*foreign, "abc", "1.5", "a\x00"]:
                response = acme_admin_client.post(path, {name: value})
                assert response.status_code == 200, (path, name, value)
                assert name in response.context["adminform"].form.errors, (path, name, value)
                assert "globex" not in response.content.decode().lower()
    assert AuditEvent.objects.count() == events


# --- inside one company: who may change what, and only from Admin Settings' own pages ---


def _every_admin_post(own):
    """(path, data) of every state-changing Admin Settings request on `own` objects."""
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    anything = {"post": "yes", "role": "company_admin", "is_approver": "on", "name": "Hijacked"}
    for model, model_admin in REGISTERED:
        obj = own[model]
        for action in model_admin.actions or ():
            yield url(model, "changelist"), {"action": action, ACTION_CHECKBOX_NAME: [obj.pk]}
        yield url(model, "add"), anything
        for view in ("change", "delete"):
            yield url(model, view, obj.pk), anything
    yield reverse("admin:apikeys_apikey_revoke", args=[own[APIKey].pk]), {}
    yield reverse("admin:offices_phonenumber_import"), {}
    yield reverse("sso_settings"), {"idp_entity_id": "https://evil.example", "enabled": "on"}
    yield reverse("scim_provisioning"), {"require_create": "on", "pending_change_ttl_days": 1}
    yield reverse("admin:password_change"), {"new_password1": "x", "new_password2": "x"}


@pytest.mark.parametrize("role", ["member", "approver"])
def test_no_one_below_company_admin_changes_anything_in_admin_settings(client, two_companies, role):
    """A member, or an approver who is no company admin, posting to every page of Admin
    Settings (their own role and approver flag included) is sent to sign-in or refused."""
    from tests.accounts.factories import UserFactory

    acme, _ = two_companies
    person = UserFactory(company=acme, email=f"{role}@acme.example", is_approver=role == "approver")
    client.force_login(person)
    own = {model: maker(acme) for model, maker in TENANT_OBJECT_MAKERS.items()}
    events = AuditEvent.objects.count()
    for path, data in _every_admin_post(own):
        response = client.post(path, {**data, "email": person.email})
        # An approver opens the approval pages and their own password page, and decides there.
        opens = path.startswith(url(PendingChange, "changelist")) or "password_change" in path
        allowed = {302, 403, 404} | ({200} if opens and role == "approver" else set())
        assert response.status_code in allowed, (path, response.status_code)
    person.refresh_from_db()
    assert (person.role, person.is_approver, person.company_id) == (
        "member",
        role == "approver",
        acme.pk,
    )
    # What an approver decides is theirs to decide; nothing else was changed.
    decisions = ("provisioning.change_approved", "provisioning.change_rejected")
    assert AuditEvent.objects.exclude(action__in=decisions).count() == events


def test_every_state_changing_admin_request_needs_the_csrf_token(two_companies):
    """A company admin's browser made to post from another site changes nothing: every
    action, form, revoke, import and settings page of Admin Settings refuses it (403)."""
    from django.test import Client

    acme, _ = two_companies
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(CompanyAdminFactory(company=acme, email="boss@acme.example"))
    own = {model: maker(acme) for model, maker in TENANT_OBJECT_MAKERS.items()}
    events = AuditEvent.objects.count()
    for path, data in _every_admin_post(own):
        assert browser.post(path, data).status_code == 403, path
    assert AuditEvent.objects.count() == events
