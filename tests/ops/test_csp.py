"""The Content-Security-Policy header on every response, and every HTML page written so that it
holds: no inline script without the response's nonce, no inline event handler, no javascript:
URL. The admin pages are read from the admin site's registry, so a page added later is checked
here without anyone remembering to add it. (tests/ops/test_csp_browser.py runs them in Chromium.)
"""

import re

import pytest
from django.test import RequestFactory
from django.urls import reverse

from accounts.admin_site import admin_site
from tests.tenancy import TENANT_OBJECT_MAKERS

pytestmark = pytest.mark.django_db

SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def directives(response):
    header = response.headers["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def assert_page_keeps_the_policy(response, url):
    assert response.status_code == 200, (url, response.status_code)
    policy = directives(response)
    scripts = policy["script-src"]
    assert "'unsafe-inline'" not in scripts, url
    assert "'unsafe-eval'" not in scripts, url
    nonces = [value for value in scripts if value.startswith("'nonce-")]
    body = response.content.decode()
    for attributes in SCRIPT.findall(body):
        if re.search(r"\ssrc\s*=", attributes):
            continue
        assert nonces, f"{url}: an inline script, and no nonce in the policy"
        nonce = nonces[0][len("'nonce-") : -1]
        assert f'nonce="{nonce}"' in attributes, f"{url}: an inline script without the nonce"
    assert not EVENT_HANDLER.search(body), f"{url}: an inline event handler"
    assert not JAVASCRIPT_URL.search(body), f"{url}: a javascript: URL"


def test_the_policy_is_strict_for_scripts_and_on_every_kind_of_response(client, company_admin):
    for url in ("/login/", "/scim/v2/ServiceProviderConfig", "/api/v1/users/", "/healthz"):
        policy = directives(client.get(url))
        assert policy["script-src"] == ["'self'"], url  # no nonce asked for: none given out
        assert policy["default-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        assert policy["base-uri"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
    client.force_login(company_admin)
    page = client.get(reverse("scim_provisioning"))
    scripts = directives(page)["script-src"]
    assert len(scripts) == 2
    assert scripts[0] == "'self'"
    assert scripts[1].startswith("'nonce-")
    again = client.get(reverse("scim_provisioning"))
    assert directives(again)["script-src"] != scripts  # a new nonce every response


def admin_pages(company, operator):
    """Every list, add and change page of Admin Settings."""
    urls = [reverse("admin:index"), reverse("sso_settings"), reverse("scim_provisioning")]
    as_operator = RequestFactory().get("/admin/")
    as_operator.user = operator
    for model, model_admin in admin_site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        if model in TENANT_OBJECT_MAKERS:
            obj = TENANT_OBJECT_MAKERS[model](company)
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
        if model_admin.has_add_permission(as_operator):
            urls.append(reverse("admin:{}_{}_add".format(*info)))
    return urls


def test_every_admin_page_keeps_the_policy(client, company, company_admin, django_user_model):
    operator = django_user_model.objects.create_superuser("ops@switchboard.example", "pw-123456ab")
    client.raise_request_exception = False  # a page a role may not open answers 403
    pages = admin_pages(company, operator)
    checked = set()
    for user in (company_admin, operator):
        client.force_login(user)
        for url in pages:
            response = client.get(url, follow=True)
            if response.status_code in (403, 404):  # a page this role may not open
                continue
            assert_page_keeps_the_policy(response, url)
            checked.add(url)
    assert set(pages) - checked == set()  # each page opened by one role at least


def test_sign_in_app_and_api_docs_keep_the_policy(client, member):
    assert_page_keeps_the_policy(client.get("/login/"), "/login/")
    client.force_login(member)
    assert_page_keeps_the_policy(client.get("/app/"), "/app/")
    docs = client.get("/api/v1/docs/")
    assert_page_keeps_the_policy(docs, "/api/v1/docs/")
    assert "<script src=" in docs.content.decode()
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
