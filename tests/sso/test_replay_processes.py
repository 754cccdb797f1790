"""The replay store across real web processes: one signed assertion posted to two gunicorns at
the same moment signs in once."""

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from accounts.models import AuditEvent
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
