"""SCIM activity for the SCIM Provisioning page: refusals audited, requests counted, the panel."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from accounts.audit import SYSTEM, Source, record_audit
from accounts.models import AuditEvent
from apikeys.services import revoke_api_key
from provisioning.activity import REFUSED, count_requests, provisioning_status
from tests.apikeys.factories import make_api_key

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


def refusals():
    return list(AuditEvent.objects.filter(action=REFUSED))


def test_a_refused_write_is_audited_with_its_detail(scim, api_key, company):
    response = scim.post("Users", {"schemas": [CORE], "name": {"givenName": "No userName"}})
    assert response.status_code == 400
    (event,) = refusals()
    assert event.company == company
    assert event.source == Source.SCIM
    assert event.actor_label == api_key.audit_identity()[2]
    assert event.after["status"] == 400
    assert event.after["method"] == "POST"
    assert event.after["path"] == "/scim/v2/Users"
    assert event.after["detail"] == response.body["detail"]


def test_a_conflict_is_an_error_too(scim):
    body = {
        "schemas": [CORE],
        "userName": "a@acme.example",
        "emails": [{"value": "a@acme.example"}],
    }
    assert scim.post("Users", body).status_code == 201
    assert scim.post("Users", body).status_code == 409
    assert [event.after["status"] for event in refusals()] == [409]


def test_reads_of_gone_users_and_bad_keys_are_not_errors(scim, client):
    assert scim.get("Users/999999").status_code == 404
    assert client.get("/scim/v2/Users", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    assert refusals() == []


def test_a_bad_filter_on_a_read_is_an_error(scim):
    assert scim.get("Users?filter=userName%20zz%20%22a%22").status_code == 400
    assert [event.after["method"] for event in refusals()] == ["GET"]


def test_requests_are_counted_once_by_what_they_did(scim, company):
    created = scim.post(
        "Users",
        {"schemas": [CORE], "userName": "c@acme.example", "emails": [{"value": "c@acme.example"}]},
    ).body
    # A PATCH that writes several events (profile and status) still counts as one request.
    scim.patch(
        f"Users/{created['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"title": "CFO", "active": False}}],
        },
    )
    scim.patch(
        f"Users/{created['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "CEO"}],
        },
    )
    scim.delete(f"Users/{created['id']}")
    scim.post("Users", {"schemas": [CORE]})  # refused
    counts = count_requests(AuditEvent.objects.filter(company=company, source=Source.SCIM))
    assert counts["24 hours"] == {
        "errors": 1,
        "queued": 0,
        "creates": 1,
        "deletes": 1,
        "suspends": 1,
        "updates": 1,
    }
    assert counts["7 days"] == counts["24 hours"]


def test_windows_split_by_age(company):
    for days in (0, 3, 30):
        event = record_audit(
            actor=SYSTEM, source=Source.SCIM, action="user.created", company=company
        )
        AuditEvent.objects.filter(pk=event.pk).update(
            created_at=timezone.now() - timedelta(days=days), request_id=f"r{days}"
        )
    counts = count_requests(AuditEvent.objects.filter(company=company))
    assert (counts["24 hours"]["creates"], counts["7 days"]["creates"]) == (1, 2)


def test_status_says_whether_onelogin_is_connected(company, scim, api_key):
    assert provisioning_status(company).health == "idle"  # a key, never used
    scim.get("Users")
    status = provisioning_status(company)
    assert status.health == "connected"
    assert status.last_use.key == api_key
    scim.post("Users", {"schemas": [CORE]})
    assert provisioning_status(company).health == "errors"


def test_no_scim_key_is_not_connected(company):
    make_api_key(company, name="Reports", scopes=["api:read"])
    assert provisioning_status(company).health == "not-connected"


def test_a_revoked_key_still_in_use_is_shown_as_an_error(company, scim, api_key, company_admin):
    revoke_api_key(api_key=api_key, actor=company_admin, source=Source.ADMIN)
    assert scim.get("Users").status_code == 401
    status = provisioning_status(company)
    assert [error["status"] for error in status.errors] == [401]
    assert "revoked API key" in status.errors[0]["detail"]


def test_scim_provisioning_page_shows_the_panel(company_admin_client, scim):
    scim.post("Users", {"schemas": [CORE], "userName": "nobody"})
    body = company_admin_client.get(reverse("scim_provisioning")).content.decode()
    assert 'id="provisioning-status"' in body
    assert "Connected, with errors" in body
    assert "Refused (errors)" in body
    assert "POST /scim/v2/Users" in body


def test_a_refusal_quoting_a_nul_character_is_recorded(scim):
    response = scim.get("Users?filter=%00")
    assert response.status_code == 400
    (event,) = refusals()
    assert "\x00" not in event.after["detail"]
