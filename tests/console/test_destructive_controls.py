"""Every control in Admin Settings that destroys or takes away (Delete, Revoke, Reject, Suspend,
Remove) is painted in the delete colours: the `danger` style, or Django's own `deletelink`.

The pages are the registry's (each model's list, add form, object page and delete page), the bulk
confirmations, and the pages of each destructive action; the test also names the controls it
must have found, so a page that stops showing one fails here too.
"""

import re
from html import unescape

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from accounts.admin_site import admin_site
from accounts.models import User
from apikeys.models import APIKey
from approvals.models import PendingChange
from offices.models import Office
from tests.accounts.factories import CompanyAdminFactory, UserFactory
from tests.tenancy import TENANT_OBJECT_MAKERS

pytestmark = pytest.mark.django_db

DESTRUCTIVE = re.compile(r"^(Yes, )?(Delete|Revoke|Reject|Suspend|Remove)\b", re.I)
DANGER_CLASSES = {"danger", "deletelink"}

# A button, a submit input, or a link styled as a control (a class); a link in a sentence is
# prose, and the page it opens carries the control.
CONTROL = re.compile(
    r"<button\b(?P<battrs>[^>]*)>(?P<btext>.*?)</button>"
    r"|<input\b(?P<iattrs>[^>]*\btype=\"?submit\"?[^>]*)>"
    r"|<a\b(?P<aattrs>[^>]*\bclass=\"[^\"]*\"[^>]*)>(?P<atext>.*?)</a>",
    re.S | re.I,
)


def attribute(attrs: str, name: str) -> str:
    match = re.search(rf"\b{name}=\"([^\"]*)\"", attrs)
    return unescape(match.group(1)) if match else ""


def destructive_controls(html: str) -> list[tuple[str, set[str]]]:
    """(words, classes) of each control whose words say it destroys or takes away."""
    found = []
    for match in CONTROL.finditer(html):
        attrs = match.group("battrs") or match.group("iattrs") or match.group("aattrs") or ""
        text = match.group("btext") or match.group("atext") or attribute(attrs, "value")
        words = " ".join(unescape(re.sub(r"<[^>]+>", " ", text)).split())
        if DESTRUCTIVE.match(words) or DESTRUCTIVE.match(attribute(attrs, "aria-label")):
            found.append((words, set(attribute(attrs, "class").split())))
    return found


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def admin_client(client, company):
    client.force_login(CompanyAdminFactory(company=company, email="grace@acme.example"))
    return client


def test_every_destructive_control_is_painted_as_danger(admin_client, company):
    pages: dict[str, str] = {}
    objects = {}

    def visit(path: str, data: dict | None = None) -> None:
        response = admin_client.post(path, data) if data else admin_client.get(path)
        if response.status_code == 200:
            pages[f"{'POST ' if data else ''}{path}"] = response.content.decode()

    for model in sorted(admin_site._registry, key=lambda model: model._meta.label):
        obj = objects[model] = TENANT_OBJECT_MAKERS[model](company)
        for view, args in (("changelist", ()), ("add", ()), ("change", (obj.pk,))):
            visit(url(model, view, *args))
        visit(url(model, "delete", obj.pk))
        # The bulk "Delete selected" confirmation, where the list offers it.
        visit(
            url(model, "changelist"),
            {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: [obj.pk]},
        )
    member = UserFactory(company=company, email="ada@acme.example")
    visit(reverse("admin:accounts_user_status", args=[member.pk]))
    key = APIKey.objects.filter(company=company, revoked_at=None).first()
    assert key is not None
    visit(reverse("admin:apikeys_apikey_revoke", args=[key.pk]))
    change = PendingChange.objects.filter(company=company).first()
    assert change is not None
    visit(
        url(PendingChange, "changelist"),
        {"action": "reject_selected", helpers.ACTION_CHECKBOX_NAME: [change.pk]},
    )

    found = {
        (page, words): classes
        for page, html in pages.items()
        for words, classes in destructive_controls(html)
    }
    plain = [
        f"{page}: {words!r}"
        for (page, words), classes in found.items()
        if not classes & DANGER_CLASSES
    ]
    assert not plain, "\n".join(plain)
    # What the console must offer, each found above (and so painted as danger).
    office, user = objects[Office], objects[User]
    wanted = {
        (url(Office, "change", office.pk), "Delete"),
        (url(Office, "delete", office.pk), "Delete"),
        (f"POST {url(Office, 'changelist')}", "Delete"),
        (url(User, "change", user.pk), "Suspend"),
        (reverse("admin:accounts_user_status", args=[member.pk]), f"Suspend {member}"),
        (url(APIKey, "changelist"), "Revoke"),
        (reverse("admin:apikeys_apikey_revoke", args=[key.pk]), "Yes, revoke the key"),
        (url(PendingChange, "change", change.pk), "Reject"),
        (f"POST {url(PendingChange, 'changelist')}", "Reject 1 change"),
    }
    missing = wanted - set(found)
    assert not missing, f"not found: {sorted(missing)}\nfound: {sorted(found)}"
