"""Ten identity-provider workers creating the same user at once, on PostgreSQL."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from accounts.models import User
from tests.apikeys.factories import make_api_key
from tests.provisioning.test_scim_users import CORE


@pytest.mark.django_db(transaction=True)
def test_parallel_creates_of_one_user_name_give_one_201_and_nine_409(company):
    _, raw = make_api_key(company)
    body = json.dumps(
        {
            "schemas": [CORE],
            "userName": "race@acme.example",
            "emails": [{"value": "race@acme.example", "primary": True}],
        }
    )
    start = threading.Barrier(10)
    answers = []

    def create() -> None:
        try:
            client = Client()
            start.wait()
            response = client.post(
                "/scim/v2/Users",
                body,
                content_type="application/scim+json",
                HTTP_AUTHORIZATION=f"Bearer {raw}",
            )
            answers.append((response.status_code, json.loads(response.content)))
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * 9, answers
    assert all(body.get("scimType") == "uniqueness" for status, body in answers if status == 409)
    assert (
        User.objects.filter(company=company, scim_user_name__lower="race@acme.example").count() == 1
    )
