"""Sign-ins across real web processes: one signed assertion posted to two gunicorns at the same
moment signs in once; two first sign-ins of a new person at once make one user and sign in twice."""

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from accounts.models import AuditEvent, User
from sso.models import SeenAssertion
from tests.accounts.factories import UserFactory
from tests.sso.conftest import refusals


def test_one_assertion_posted_to_two_web_processes_at_once_signs_in_once(
    web_processes, acme_saml, acme_idp, company
):
    UserFactory(company=company, email="ada@acme.example")
    first, second = web_processes(2)
    body = urlencode({"SAMLResponse": acme_idp.response("ada@acme.example")}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    start = threading.Barrier(2)

    def post(web):
        start.wait()
        return web.request("POST", "/sso/acme/acs/", headers=headers, data=body)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(post, (first, second)))

    by_status = {answer.status: answer for answer in answers}
    assert sorted(by_status) == [302, 403], [a.body[:300] for a in answers]
    assert by_status[302].headers["Location"] == "/app/"
    assert "sessionid" in by_status[302].cookies()
    assert "already used" in by_status[403].text
    assert "sessionid" not in by_status[403].cookies()
    assert SeenAssertion.objects.filter(company=company).count() == 1
    assert refusals("replay").count() == 1
    assert AuditEvent.objects.filter(action="auth.sign_in.sso").count() == 1

    # Later, on either process: still refused.
    again = second.request("POST", "/sso/acme/acs/", headers=headers, data=body)
    assert again.status == 403
    assert refusals("replay").count() == 2


def test_two_first_sign_ins_of_a_new_person_at_once_make_one_user(
    web_processes, acme_saml, acme_idp, company
):
    """A double click on the IdP tile with JIT on: two different assertions for a person who has
    no account yet, posted to two gunicorns at the same moment. Both sign in, as one new user."""
    acme_saml.jit_provisioning = True
    acme_saml.save()
    first, second = web_processes(2)
    bodies = [
        urlencode({"SAMLResponse": acme_idp.response("new.person@acme.example")}).encode()
        for _ in range(2)
    ]
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    start = threading.Barrier(2)

    def post(web, body):
        start.wait()
        return web.request("POST", "/sso/acme/acs/", headers=headers, data=body)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(post, (first, second), bodies))

    assert [answer.status for answer in answers] == [302, 302], [a.body[:300] for a in answers]
    assert all(answer.headers["Location"] == "/app/" for answer in answers)
    user = User.objects.get(email__iexact="new.person@acme.example")
    assert AuditEvent.objects.filter(action="user.created", target_id=str(user.pk)).count() == 1
    assert AuditEvent.objects.filter(action="auth.sign_in.sso", actor_user=user).count() == 2
    assert not refusals().exists()
