"""Sessions (sso/sessions.py): one write per sign-in; a key planted beforehand never signs in."""

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as StockSessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sso.sessions import SessionStore
from tests.accounts.factories import UserFactory

ACS = "/sso/acme/acs/"


def _sign_in(client, idp, email="ada@acme.example"):
    response = client.post(ACS, {"SAMLResponse": idp.response(email)})
    assert response.status_code == 302
    assert response["Location"] == "/app/"
    return response


def test_a_sign_in_writes_its_session_in_one_statement(client, acme_saml, acme_idp, company):
    ada = UserFactory(company=company, email="ada@acme.example")
    with CaptureQueriesContext(connection) as queries:
        _sign_in(client, acme_idp)
    touching_sessions = [q["sql"] for q in queries if '"django_session"' in q["sql"]]
    assert len(touching_sessions) == 1
    assert touching_sessions[0].startswith('INSERT INTO "django_session"')
    session = Session.objects.get().get_decoded()
    assert session["_auth_user_id"] == str(ada.pk)
    assert session["sso_company"] == "acme"
    assert client.get("/app/").status_code == 200


def test_a_session_key_planted_before_sign_in_is_replaced(client, acme_saml, acme_idp, company):
    UserFactory(company=company, email="ada@acme.example")
    planted = StockSessionStore()
    planted["visited"] = True
    planted.create()
    client.cookies["sessionid"] = planted.session_key

    _sign_in(client, acme_idp)

    key = client.cookies["sessionid"].value
    assert key != planted.session_key
    assert not Session.objects.filter(session_key=planted.session_key).exists()
    data = Session.objects.get(session_key=key).get_decoded()
    assert data["visited"] is True  # what the visitor had before is kept, under the new key


def test_an_unknown_session_key_is_never_adopted(client, acme_saml, acme_idp, company):
    UserFactory(company=company, email="ada@acme.example")
    chosen = "attackerchosen0000000000000000000"
    client.cookies["sessionid"] = chosen

    _sign_in(client, acme_idp)

    assert client.cookies["sessionid"].value != chosen
    assert not Session.objects.filter(session_key=chosen).exists()


def _draw_a_taken_key_first(monkeypatch):
    taken = StockSessionStore()
    taken.create()
    draws = iter([taken.session_key, "fresh000000000000000000000000000"])
    monkeypatch.setattr("sso.sessions.get_random_string", lambda *args: next(draws))


@pytest.mark.parametrize(
    "where",
    [
        # Inside a transaction (the test's): the refused INSERT must leave it usable.
        pytest.param("in a transaction", marks=pytest.mark.django_db),
        pytest.param("in autocommit", marks=pytest.mark.django_db(transaction=True)),
    ],
)
def test_a_new_session_key_is_drawn_again_when_taken(where, monkeypatch):
    _draw_a_taken_key_first(monkeypatch)
    session = SessionStore()
    session["x"] = 1
    session.save()
    assert session.session_key == "fresh000000000000000000000000000"
    assert Session.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_session_write_outside_a_transaction_is_a_lone_statement():
    # No BEGIN and COMMIT around it: the INSERT and the UPDATE each run in autocommit.
    seen = []

    def record(execute, sql, params, many, context):
        if '"django_session"' in sql:
            seen.append((sql.split()[0], connection.get_autocommit()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        session = SessionStore()
        session["x"] = 1
        session.save()
        session["x"] = 2
        session.save()
    assert seen == [("INSERT", True), ("UPDATE", True)]
    assert SessionStore(session.session_key).load() == {"x": 2}


@pytest.mark.django_db(transaction=True)
def test_saving_a_session_deleted_meanwhile_is_refused():
    # Signed out elsewhere (or ended by Enforce SSO) while this request ran: never re-created.
    session = SessionStore()
    session["x"] = 1
    session.save()
    Session.objects.filter(session_key=session.session_key).delete()
    session["x"] = 2
    with pytest.raises(UpdateError):
        session.save()
    assert not Session.objects.exists()
