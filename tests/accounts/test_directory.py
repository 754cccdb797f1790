"""Admin Settings › Users: the directory, a user's page, the admin actions, ghost accounts."""

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from accounts.audit import SYSTEM, Source, record_audit
from accounts.models import AuditEvent, ManagedBy, User, UserStatus
from accounts.selectors import license_usage
from offices.models import PhoneNumber
from tests.accounts.factories import UserFactory
from tests.offices.factories import OfficeFactory, PhoneNumberFactory

USERS = reverse("admin:accounts_user_changelist")


@pytest.fixture
def hq(company):
    return OfficeFactory(company=company, name="HQ", is_main=True)


@pytest.fixture
def ada(company, hq):
    user = UserFactory(
        company=company,
        email="ada@acme.example",
        given_name="Ada",
        family_name="Lovelace",
        license_type="talk",
        office=hq,
        managed_by=ManagedBy.SCIM,
        scim_user_name="ada@acme.example",
    )
    PhoneNumberFactory(company=company, number="+14155550142", office=hq, assigned_user=user)
    return user


@pytest.fixture
def bob(company, hq):
    return UserFactory(
        company=company,
        email="bob@acme.example",
        given_name="Bob",
        family_name="Builder",
        license_type="talk",
        office=hq,
    )


def listed(response):
    return {user.email for user in response.context["cl"].result_list}


@pytest.mark.parametrize("term", ["(415) 555-0142", "+1 415 555 0142", "5550142", "Lovelace"])
def test_search_finds_a_user_by_number_or_name(company_admin_client, ada, bob, term):
    response = company_admin_client.get(USERS, {"q": term})
    assert listed(response) == {"ada@acme.example"}


def test_needs_a_number_and_managed_by_filters(company_admin_client, ada, bob, company_admin):
    assert listed(company_admin_client.get(USERS, {"number": "needed"})) == {"bob@acme.example"}
    managed = company_admin_client.get(USERS, {"managed_by__exact": "scim"})
    assert listed(managed) == {"ada@acme.example"}


def test_the_role_column_names_approvers(company_admin_client, ada, bob):
    User.objects.filter(pk=bob.pk).update(is_approver=True)
    body = company_admin_client.get(USERS).content.decode()
    rows = {row.split("</tr>")[0] for row in body.split("<tr") if "@acme.example" in row}
    bob_row = next(row for row in rows if "bob@acme.example" in row)
    ada_row = next(row for row in rows if "ada@acme.example" in row)
    assert ">Approver<" in bob_row
    assert ">Member<" in ada_row


def test_scim_managed_users_identity_fields_are_read_only(company_admin_client, ada):
    url = reverse("admin:accounts_user_change", args=[ada.pk])
    page = company_admin_client.get(url)
    body = page.content.decode()
    assert "managed by your identity provider" in body
    form = page.context["adminform"].form
    assert "email" not in form.fields
    assert "family_name" not in form.fields
    assert "office" in form.fields  # ours to change

    response = company_admin_client.post(
        url,
        {
            "email": "someone-else@acme.example",
            "family_name": "Byron",
            "role": "member",
            "office": ada.office_id,
            "license_type": "talk",
        },
    )
    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.email, ada.family_name) == ("ada@acme.example", "Lovelace")


def test_manual_users_are_edited_through_the_service(company_admin_client, bob, company_admin):
    url = reverse("admin:accounts_user_change", args=[bob.pk])
    assert "managed by your identity provider" not in company_admin_client.get(url).content.decode()
    response = company_admin_client.post(
        url,
        {
            "email": "bob@acme.example",
            "given_name": "Robert",
            "family_name": "Builder",
            "role": "member",
            "office": bob.office_id,
            "license_type": "talk",
        },
    )
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.given_name == "Robert"
    event = AuditEvent.objects.get(action="user.updated", target_id=str(bob.pk))
    assert (event.source, event.actor_user) == (Source.ADMIN, company_admin)
    assert event.after == {"given_name": "Robert"}


def test_user_page_shows_their_provisioning_history(company_admin_client, ada, company):
    record_audit(
        actor=SYSTEM,
        source=Source.SCIM,
        action="user.updated",
        company=company,
        target=ada,
        before={"title": "Analyst"},
        after={"title": "Countess"},
    )
    body = company_admin_client.get(reverse("admin:accounts_user_change", args=[ada.pk]))
    text = body.content.decode()
    # In the audit event registry's words, not codes.
    assert "User updated" in text
    assert "user.updated" not in text
    assert "Title: Analyst → Countess" in text
    history = company_admin_client.get(reverse("admin:accounts_user_history", args=[ada.pk]))
    assert history.status_code == 302
    assert history["Location"].endswith(f"?target_type=accounts.user&target_id={ada.pk}")


def act(client, action, users, **extra):
    return client.post(
        USERS,
        {"action": action, ACTION_CHECKBOX_NAME: [user.pk for user in users], **extra},
        follow=True,
    )


def test_suspend_and_reactivate_go_through_the_member_services(
    company_admin_client, ada, company_admin
):
    response = act(company_admin_client, "suspend_users", [ada])
    assert "Suspended 1" in response.content.decode()
    ada.refresh_from_db()
    assert ada.status == UserStatus.SUSPENDED
    assert license_usage(ada.company)["talk"].used == 0  # the seat is free
    assert not PhoneNumber.objects.filter(assigned_user=ada).exists()
    event = AuditEvent.objects.get(action="user.suspended", target_id=str(ada.pk))
    assert (event.source, event.actor_user) == (Source.ADMIN, company_admin)

    act(company_admin_client, "reactivate_users", [ada])
    ada.refresh_from_db()
    assert (ada.status, ada.license_type) == (UserStatus.ACTIVE, "talk")
    assert AuditEvent.objects.filter(action="user.reactivated", source=Source.ADMIN).exists()


def test_an_admin_cannot_suspend_themselves(company_admin_client, company_admin):
    response = act(company_admin_client, "suspend_users", [company_admin])
    assert "You cannot suspend yourself" in response.content.decode()
    company_admin.refresh_from_db()
    assert company_admin.status == UserStatus.ACTIVE


def test_move_to_office_asks_which_office_then_moves(company_admin_client, company, bob):
    berlin = OfficeFactory(company=company, name="Berlin", country="DE", timezone="Europe/Berlin")
    OfficeFactory(company=UserFactory().company, name="Elsewhere")  # another company's office
    page = act(company_admin_client, "move_to_office", [bob])
    assert [o.name for o in page.context["form"].fields["office"].queryset] == ["HQ", "Berlin"]
    act(company_admin_client, "move_to_office", [bob], apply="1", office=berlin.pk)
    bob.refresh_from_db()
    assert bob.office == berlin
    assert AuditEvent.objects.filter(action="user.office_changed", target_id=str(bob.pk)).exists()


def test_assign_numbers_gives_a_free_number_or_says_none_is_free(
    company_admin_client, company, bob, hq
):
    response = act(company_admin_client, "assign_numbers", [bob])
    assert "No free number" in response.content.decode()
    PhoneNumberFactory(company=company, number="+14155550177", office=hq)
    response = act(company_admin_client, "assign_numbers", [bob])
    assert "Gave 1 user a number." in response.content.decode()
    assert PhoneNumber.objects.get(assigned_user=bob).number == "+14155550177"


def _seen_by_scim(company, user, days_ago):
    event = record_audit(
        actor=SYSTEM, source=Source.SCIM, action="user.updated", company=company, target=user
    )
    AuditEvent.objects.filter(pk=event.pk).update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )


def test_ghost_accounts_are_manual_or_quiet_scim_users(company_admin_client, company, ada, bob):
    quiet = UserFactory(company=company, email="quiet@acme.example", managed_by=ManagedBy.SCIM)
    gone = UserFactory(company=company, email="gone@acme.example", status=UserStatus.SUSPENDED)
    _seen_by_scim(company, ada, days_ago=2)
    _seen_by_scim(company, quiet, days_ago=60)
    assert gone  # suspended: never a ghost

    at_30 = company_admin_client.get(USERS, {"ghost": "30"})
    assert listed(at_30) == {"bob@acme.example", "quiet@acme.example", "admin@acme.example"}
    assert at_30.context["title"] == "Ghost accounts"
    assert "not created or changed by it in the last" in at_30.content.decode()
    at_90 = company_admin_client.get(USERS, {"ghost": "90"})
    assert listed(at_90) == {"bob@acme.example", "admin@acme.example"}


@pytest.mark.parametrize("value", ["abc", "0", "-3", "99999"])
def test_a_bad_ghost_period_is_a_notice_not_an_error(company_admin_client, value):
    response = company_admin_client.get(USERS, {"ghost": value})
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_ghost_accounts_bulk_suspend(company_admin_client, company, bob):
    quiet = UserFactory(company=company, email="quiet@acme.example", managed_by=ManagedBy.SCIM)
    act(company_admin_client, "suspend_users", [bob, quiet])
    assert set(
        User.objects.filter(status=UserStatus.SUSPENDED).values_list("email", flat=True)
    ) == {
        "bob@acme.example",
        "quiet@acme.example",
    }


def test_home_shows_seat_usage_bars(company_admin_client, bob, ada):
    body = company_admin_client.get(reverse("admin:index")).content.decode()
    assert 'class="seat-usage-bar"' in body
    assert "2 of 10" in body  # talk: Ada and Bob
    assert "Ghost accounts" in body


def test_suspend_and_reactivate_from_the_users_own_page(company_admin_client, company, ada):
    page = reverse("admin:accounts_user_change", args=[ada.pk])
    status_url = reverse("admin:accounts_user_status", args=[ada.pk])
    assert f'href="{status_url}"' in company_admin_client.get(page).content.decode()
    confirmation = company_admin_client.get(status_url)
    assert confirmation.status_code == 200
    assert "can no longer sign in" in confirmation.content.decode()
    ada.refresh_from_db()
    assert ada.status == "active"  # a GET changes nothing
    response = company_admin_client.post(status_url, follow=True)
    assert response.redirect_chain[-1][0] == page
    ada.refresh_from_db()
    assert ada.status == "suspended"
    assert AuditEvent.objects.filter(
        action="user.suspended", target_id=str(ada.pk), source=Source.ADMIN
    ).exists()
    assert "can sign in again" in company_admin_client.get(status_url).content.decode()
    company_admin_client.post(status_url)
    ada.refresh_from_db()
    assert ada.status == "active"


def test_an_admin_cannot_suspend_themselves_from_their_page(company_admin_client, company_admin):
    response = company_admin_client.post(
        reverse("admin:accounts_user_status", args=[company_admin.pk]), follow=True
    )
    assert "You cannot suspend yourself" in response.content.decode()
    company_admin.refresh_from_db()
    assert company_admin.status == "active"


def test_another_companys_user_status_page_is_404(company_admin_client, other_company):
    stranger = UserFactory(company=other_company)
    url = reverse("admin:accounts_user_status", args=[stranger.pk])
    assert company_admin_client.get(url).status_code == 404
    assert company_admin_client.post(url).status_code == 404
    stranger.refresh_from_db()
    assert stranger.status == "active"


def test_a_users_page_shows_moments_in_the_companys_time_zone(company_admin_client, company, ada):
    from offices.models import Office

    Office.objects.filter(company=company, is_main=True).update(timezone="Europe/Berlin")
    body = company_admin_client.get(
        reverse("admin:accounts_user_change", args=[ada.pk])
    ).content.decode()
    assert " CET" in body or " CEST" in body
    assert " UTC<" not in body
