"""Every console page, as every role, at desktop and phone width, in light and dark: no 5xx, no
redirect loop, no sideways scrolling, and no serious or critical axe-core violation.

The pages come from Admin Settings' registry (each registered model's list, add form and an
object's page, each section, each linked page), like the tenant isolation walk: a page registered
later is walked the moment it exists. One browser, one context per role; the walk's duration is
printed (pytest -s) and kept in docs/performance.md.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, ViewportSize

from accounts.admin_site import SECTIONS, admin_site
from accounts.audit import SYSTEM, Source
from accounts.models import Role, User
from approvals.models import PendingChange
from sso.services import configure_saml
from tests.accounts.factories import CompanyAdminFactory, CompanyFactory, UserFactory
from tests.apikeys.factories import make_api_key
from tests.approvals.factories import make_pending_change
from tests.browser import PHONE as BROWSER_PHONE
from tests.browser import artifacts_dir
from tests.offices.factories import OfficeFactory, PhoneNumberFactory
from tests.tenancy import TENANT_OBJECT_MAKERS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# The widths the console is judged at: a common laptop, the phones of tests/browser.py, the
# narrowest phone WCAG's reflow criterion names.
WIDE = ViewportSize(width=1366, height=900)
PHONE = ViewportSize(width=BROWSER_PHONE["width"], height=BROWSER_PHONE["height"])
NARROWEST = ViewportSize(width=320, height=640)

# Third-party pages walked for crashes and overflow but not judged by axe: their markup is not ours.
NOT_OURS = ("api:docs",)

AXE = Axe()
# Light: every rule. Dark: only the rules a theme can change (colours), at a third of the cost.
# No CSSOM preload: axe-core fetches a stylesheet's relative @import against the page's address,
# not the stylesheet's (Django's forms.css imports 'widgets.css': a 404 at
# /admin/password_change/widgets.css, parsed as CSS), and the one rule that reads it
# (css-orientation-lock) has nothing to judge: no stylesheet of the console locks orientation.
AXE_OPTIONS = {
    "light": {"resultTypes": ["violations"], "preload": False},
    "dark": {
        "resultTypes": ["violations"],
        "preload": False,
        "runOnly": {"type": "rule", "values": ["color-contrast", "link-in-text-block"]},
    },
}
# What a page loads that is a file, not a page: each must be there.
STATIC_SUFFIXES = (".css", ".js", ".svg", ".png", ".ico", ".woff", ".woff2", ".map")


@dataclass
class Walked:
    """What the walk found: one line per failed check, so one run shows every problem."""

    problems: list[str] = field(default_factory=list)
    pages: int = 0
    axe_runs: int = 0
    axe_seconds: float = 0.0

    def add(self, role: str, path: str, what: str) -> None:
        self.problems.append(f"{role} {path}: {what}")


# Checks of visible text the walk applies to every page: each takes the page's visible text
# and returns a problem or None.
def _no_django_default_title(text: str) -> str | None:
    match = re.search(r"Select [\w ]+ to (change|view)", text)
    return f"Django's default title {match.group(0)!r}" if match else None


def _no_generic_object_title(text: str) -> str | None:
    """Django's "Change user" / "Add office" / "View audit event" as a page's title (the first
    line, from VISIBLE_WORDS), heading or link: an object's page is named by the object."""
    names = "|".join(re.escape(str(model._meta.verbose_name)) for model in admin_site._registry)
    match = re.search(rf"(?:^|\| )(?:Add|Change|View) (?:{names})(?: \||$)", text, re.M | re.I)
    return f"Django's object title {match.group(0).rstrip(' |')!r}" if match else None


def _no_s_plural(text: str) -> str | None:
    match = re.search(r"\w+\(s\)", text)
    return f"a '(s)' plural {match.group(0)!r}" if match else None


def _no_raw_code(text: str) -> str | None:
    """An `app.model` label or a dotted action code ("offices.phonenumber", "sso.configured")."""
    match = re.search(
        r"\b(accounts|offices|apikeys|approvals|sso|user|api_key|scim)\.[a-z_]+\b", text
    )
    return f"a raw code {match.group(0)!r}" if match else None


def _no_snake_case(text: str) -> str | None:
    """A field or attribute name as code ("middle_name"). Data is not code: API key prefixes
    (sbk_…) and the isolation registry's marker rows (`test.secret_<slug>`, made per company)."""
    match = re.search(r"\b(?!sbk_|secret_)[a-z]+(?:_[a-z]+)+\b", text)
    return f"a snake_case code {match.group(0)!r}" if match else None


# The page's title (its first line) and visible text without what is shown as code
# (`manage.py configure_saml`): a command named in <code> is meant to be typed as written.
VISIBLE_WORDS = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll("code, kbd, pre, samp, script, style").forEach((node) => node.remove());
  document.documentElement.appendChild(body);
  const text = body.innerText;
  body.remove();
  return `${document.title}\n${text}`;
}"""

TEXT_CHECKS: list[Callable[[str], str | None]] = [
    _no_django_default_title,
    _no_generic_object_title,
    _no_s_plural,
    _no_raw_code,
    _no_snake_case,
]


def _admin_url(name: str, *args: object, query: str = "") -> str | None:
    try:
        return reverse(name, args=args) + (f"?{query}" if query else "")
    except NoReverseMatch:
        return None


def admin_pages(objects: dict[type, object]) -> list[str]:
    """Every Admin Settings page: index, sections, links, and each model's list, add, object."""
    pages = [reverse("admin:index")]
    pages += [reverse("admin:section", args=[section.slug]) for section in SECTIONS]
    pages += [
        reverse(link.url_name) + (f"?{link.query}" if link.query else "")
        for link in admin_site._links
    ]
    for model in sorted(admin_site._registry, key=lambda m: m._meta.label):
        opts = model._meta
        prefix = f"admin:{opts.app_label}_{opts.model_name}"
        pages.append(reverse(f"{prefix}_changelist"))
        pages.append(reverse(f"{prefix}_add"))
        obj = objects.get(model)
        if obj is not None:
            pages.append(reverse(f"{prefix}_change", args=[obj.pk]))  # type: ignore[attr-defined]
    pages += [
        reverse("admin:offices_phonenumber_import"),
        reverse("admin:password_change"),
        reverse("admin:accounts_user_changelist") + "?q=ada",
    ]
    return list(dict.fromkeys(pages))


def not_ours() -> set[str]:
    return {reverse(name) for name in NOT_OURS}


@pytest.fixture
def console(idp_key):
    """Acme with one of everything Admin Settings shows, and a person in each role."""
    company = CompanyFactory(slug="acme", name="Acme Corporation", seats=5)
    admin = CompanyAdminFactory(
        company=company, email="admin@acme.example", given_name="Grace", family_name="Hopper"
    )
    approver = UserFactory(
        company=company, email="approver@acme.example", role=Role.MEMBER, is_approver=True
    )
    member = UserFactory(company=company, email="member@acme.example", role=Role.MEMBER)
    operator = User.objects.create_superuser(
        email="ops@switchboard.example", password="x-long-password-1"
    )
    office = OfficeFactory(company=company, name="San Francisco", is_main=True)
    PhoneNumberFactory(company=company, number="+14155550101", office=office, assigned_user=member)
    objects = {model: maker(company) for model, maker in TENANT_OBJECT_MAKERS.items()}
    make_api_key(company, name="OneLogin")
    make_pending_change(company)
    configure_saml(
        company=company,
        actor=SYSTEM,
        source=Source.CLI,
        idp_entity_id="https://app.onelogin.com/saml/metadata/0a1b2c3d",
        idp_sso_url="https://acme.onelogin.com/trust/saml2/http-post/sso/0a1b2c3d",
        idp_certificate=idp_key.cert_pem,
        enabled=False,
    )
    return {
        "objects": objects,
        "roles": {"operator": operator, "admin": admin, "approver": approver, "member": member},
    }


def watch_assets(context, walked: Walked, role: str) -> None:
    """Every stylesheet, script, image or font a page of `context` asks for must answer: one
    that fails (a 404 after redirects, say) is a problem of the page that asked for it."""

    def answered(response) -> None:
        if response.status < 400:
            return
        request = response.request
        while request.redirected_from is not None:  # the address the page asked for
            request = request.redirected_from
        path = urlsplit(request.url).path
        if path.startswith(f"/{settings.STATIC_URL.lstrip('/')}") or path.endswith(STATIC_SUFFIXES):
            page = response.frame.page.url if response.frame else "?"
            walked.add(role, urlsplit(page).path, f"{path} answered {response.status}")

    context.on("response", answered)


def signed_in(browser, live_server, user, **options):
    """A browser context with `user`'s session cookie: signing in is tested elsewhere."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    context = browser.new_context(base_url=live_server.url, **options)
    context.add_cookies(
        [{"name": "sessionid", "value": session.session_key, "url": live_server.url}]
    )
    return context


def _axe_problems(page: Page, theme: str) -> Iterator[str]:
    # axe-core goes into the page once, then runs for each theme (injecting is half the cost).
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.axe_script)
    results = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS[theme])
    for violation in results["violations"]:
        if violation["impact"] in {"serious", "critical"}:
            nodes = violation["nodes"]
            targets = [" ".join(map(str, node["target"])) for node in nodes[:3]]
            why = (nodes[0].get("any") or nodes[0].get("all") or [{}])[0].get("message", "")
            yield f"axe {violation['id']} ({violation['impact']}): {targets} {why}"


def set_theme(page: Page, theme: str) -> None:
    page.evaluate("theme => { document.documentElement.dataset.theme = theme; }", theme)
    # Buttons fade to the theme's colours: judge them once they are there.
    page.evaluate("() => Promise.all(document.getAnimations().map((a) => a.finished))")


def check_page(page: Page, walked: Walked, role: str, path: str, *, axe: bool) -> None:
    """Open `path` at each width; check status, loop, overflow, text and (desktop) axe."""
    try:
        response = page.goto(path)
    except PlaywrightError as error:  # ERR_TOO_MANY_REDIRECTS and its kin
        walked.add(role, path, f"did not load: {error.message.splitlines()[0]}")
        return
    walked.pages += 1
    status = response.status if response else 0
    if status >= 500:
        walked.add(role, path, f"HTTP {status}")
        return
    if path != "/login/" and "/login/" in page.url:
        walked.add(role, path, f"sent to sign in ({page.url})")
        return
    check_loaded(page, walked, role, path, axe=axe)


def check_loaded(page: Page, walked: Walked, role: str, path: str, *, axe: bool = True) -> None:
    """The checks of `check_page` on the page as it stands (say, a form answered with errors)."""
    for missing in page.evaluate(DANGLING_IDREFS):
        walked.add(role, path, f"points at a missing id: {missing}")
    # The pages not ours (Swagger's API reference) speak the API's own names: no word checks.
    text = page.evaluate(VISIBLE_WORDS) if TEXT_CHECKS and axe else ""
    for check in TEXT_CHECKS:
        problem = check(text)
        if problem:
            walked.add(role, path, problem)
    for viewport in (PHONE, WIDE):  # desktop last: axe judges the desktop layout
        page.set_viewport_size(viewport)
        if overflow := horizontal_overflow(page):
            walked.add(role, path, f"scrolls sideways at {viewport['width']} px by {overflow}")
    if not axe:
        return
    for theme in ("light", "dark"):
        set_theme(page, theme)
        walked.axe_runs += 1
        started = time.monotonic()
        for problem in _axe_problems(page, theme):
            walked.add(role, path, f"{theme}: {problem}")
        walked.axe_seconds += time.monotonic() - started
    if shot := SCREENSHOTS.get(path) if role == "admin" else None:
        screenshots(page, shot)


# The main pages, photographed as a company admin sees them (first screenful, light and dark,
# desktop and phone) into test-artifacts/a11y/screenshots/: docs/screenshots/ is copied from
# there after a person has looked at them.
SCREENSHOTS = {
    "/admin/": "home",
    "/admin/accounts/user/": "users",
    "/admin/approvals/pendingchange/": "pending-approvals",
    "/admin/authentication/saml-sso/": "saml-sso",
    "/admin/scim-provisioning/": "scim-provisioning",
    "/admin/apikeys/apikey/": "api-keys",
    "/admin/accounts/auditevent/": "audit-log",
    "/app/": "app",
}


def screenshots(page: Page, name: str) -> None:
    directory = artifacts_dir("a11y/screenshots")
    for theme in ("light", "dark"):
        set_theme(page, theme)
        for device, viewport in (("desktop", WIDE), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            page.screenshot(path=directory / f"{name}-{theme}-{device}.png")
    page.set_viewport_size(WIDE)


# aria-describedby/-labelledby/-controls naming an id the page does not have: a screen reader
# then reads nothing (help text and errors never announced), and axe does not flag it.
DANGLING_IDREFS = """() => {
  const found = [];
  for (const attr of ["aria-describedby", "aria-labelledby", "aria-controls"]) {
    for (const element of document.querySelectorAll(`[${attr}]`)) {
      for (const id of element.getAttribute(attr).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) found.push(`${element.name || element.id} ${attr}=${id}`);
      }
    }
  }
  return found;
}"""


def horizontal_overflow(page: Page) -> str:
    """'' if the page fits its width; else by how much it does not, and what sticks out."""
    return page.evaluate(OVERFLOW)


# The amount, and the innermost elements whose right edge passes the window's (inside a box
# that scrolls by itself does not count: that box is what scrolls, not the page).
OVERFLOW = """() => {
  const width = window.innerWidth;
  const over = document.documentElement.scrollWidth - width;
  if (over <= 0) return "";
  const scrolls = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const x = getComputedStyle(p).overflowX;
      if (x === "auto" || x === "scroll" || x === "hidden") return true;
    }
    return false;
  };
  const out = [...document.body.querySelectorAll("*")].filter((el) =>
    el.getBoundingClientRect().right > width + 1 && !scrolls(el) &&
    ![...el.children].some((c) => c.getBoundingClientRect().right > width + 1));
  const names = out.slice(0, 3).map((el) =>
    el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.split(" ")[0] : ""));
  return `${over} px (${names.join(", ")})`;
}"""


def test_every_page_as_every_role(browser, live_server, console):
    started = time.monotonic()
    walked = Walked()
    admin_only = admin_pages(console["objects"])
    pending = PendingChange.objects.filter(company__slug="acme").first()
    assert pending is not None
    pending_pages = [
        reverse("admin:approvals_pendingchange_changelist"),
        reverse("admin:approvals_pendingchange_change", args=[pending.pk]),
    ]
    everyone = ["/login/", "/app/"]
    # Approvers and members also walk every page they may not open: each must answer (a 403 in
    # the console's look), never loop between /admin/login/ and /login/.
    walks = {
        "operator": admin_only + everyone,
        "admin": admin_only + everyone,
        "approver": list(dict.fromkeys([reverse("admin:index"), *pending_pages, *admin_only])),
        "member": list(dict.fromkeys(admin_only + everyone)),
    }
    walks["approver"] += everyone
    skip_axe = not_ours()
    for role, pages in walks.items():
        user = console["roles"][role]
        context = signed_in(browser, live_server, user, viewport=WIDE)
        watch_assets(context, walked, role)
        page = context.new_page()
        for path in pages:
            check_page(page, walked, role, path, axe=path not in skip_axe)
        context.close()
        if role == "admin":
            context = signed_in(browser, live_server, user, viewport=WIDE)
            watch_assets(context, walked, role)
            admin_states(context, walked)
    anonymous = browser.new_context(base_url=live_server.url, viewport=WIDE)
    watch_assets(anonymous, walked, "anonymous")
    sign_in_states(anonymous.new_page(), walked)
    anonymous.close()
    elapsed = time.monotonic() - started
    summary = (
        f"{walked.pages} pages, {walked.axe_runs} axe runs ({walked.axe_seconds:.0f} s of axe) "
        f"in {elapsed:.0f} s"
    )
    print(f"\nwalked {summary}")
    (artifacts_dir("a11y") / "walk.txt").write_text(f"{summary}\n" + "\n".join(walked.problems))
    assert not walked.problems, "\n".join(walked.problems)


def submit(page: Page, button: str) -> None:
    """Click `button` and wait for the page the form answers with."""
    with page.expect_navigation():
        page.click(button)


def admin_states(context, walked: Walked) -> None:
    """What a company admin sees after acting: forms answered with errors, the new key, the
    pending change's buttons, and the key pages at 320 px."""
    page = context.new_page()
    forms_with_errors(page, walked)
    api_key_states(page, walked)
    pending_change_states(page, walked)
    context.close()


def forms_with_errors(page: Page, walked: Walked) -> None:
    """The admin's forms answered with errors: the wrong field is marked, nothing squeezed."""
    role = "admin"
    page.goto(reverse("sso_settings"))
    page.fill("#id_idp_entity_id", "")
    submit(page, ".saml-form input[type=submit]")
    check_loaded(page, walked, role, "SAML SSO with errors")
    if not page.locator("[aria-invalid=true]").count():
        walked.add(role, "SAML SSO with errors", "no field is marked aria-invalid")
    page.set_viewport_size(PHONE)
    for code in page.locator(".saml-urls code").all():
        box = code.bounding_box()
        if box and box["width"] < PHONE["width"] * 0.6:
            walked.add(role, "SAML SSO", f"an SP address squeezed to {box['width']:.0f} px")
    page.set_viewport_size(WIDE)

    page.goto(reverse("scim_provisioning"))
    page.fill("#id_pending_change_ttl_days", "0")
    page.evaluate("() => { document.querySelector('form.policy').noValidate = true; }")
    submit(page, "form.policy input[type=submit]")
    check_loaded(page, walked, role, "SCIM provisioning with errors")
    if page.get_attribute("#id_pending_change_ttl_days", "aria-invalid") != "true":
        walked.add(role, "SCIM provisioning with errors", "the wrong field is not aria-invalid")

    page.goto(reverse("admin:offices_phonenumber_import"))
    submit(page, "#content-main input[type=submit], #content-main button[type=submit]")
    check_loaded(page, walked, role, "CSV import with errors")


def api_key_states(page: Page, walked: Walked) -> None:
    """A new key is shown with focus on it; each Revoke link names its key."""
    role = "admin"
    page.goto(reverse("admin:apikeys_apikey_add"))
    scopes = page.get_by_role("group", name=re.compile("Scopes"))
    if scopes.count() != 1:
        walked.add(role, "Add a Key", "the scopes are not one named group (fieldset)")
    page.fill("#id_name", "Okta")
    submit(page, "input[name=_save]")
    focused = page.evaluate("() => document.activeElement && document.activeElement.id")
    if focused not in {"api-key-secret", "api-key-copy"}:
        walked.add(role, "new API key", f"focus is on {focused!r}, not the key or Copy")
    check_loaded(page, walked, role, "new API key")
    screenshots(page, "api-key-created")

    page.goto(reverse("admin:apikeys_apikey_changelist"))
    revoke_names = page.locator("#result_list a.api-key-revoke").all_inner_texts()
    labels = [
        link.get_attribute("aria-label") or link.inner_text()
        for link in page.locator("#result_list a.api-key-revoke").all()
    ]
    if not revoke_names or any(label.strip() == "Revoke" for label in labels):
        walked.add(role, "API keys", f"Revoke links without the key's name: {labels}")
    if not page.locator("#result_list thead th.column-revoke_link").inner_text().strip():
        walked.add(role, "API keys", "the Revoke column has no header")


def pending_change_states(page: Page, walked: Walked) -> None:
    """The pending change's links and buttons, and the admin's key pages at 320 px."""
    role = "admin"
    pending = reverse("admin:approvals_pendingchange_changelist")
    page.goto(pending)
    for link in page.locator("#result_list a").all():
        name = (link.get_attribute("aria-label") or link.inner_text()).strip()
        if re.fullmatch(r"#?\d+", name):
            walked.add(role, "Pending approvals", f"a link named only {name!r}")
    change = PendingChange.objects.filter(company__slug="acme").first()
    assert change is not None
    detail = reverse("admin:approvals_pendingchange_change", args=[change.pk])
    page.goto(detail)
    screenshots(page, "pending-change")
    for button in page.locator(".decision button[type=submit]").all():
        box = button.bounding_box()
        if box and (box["width"] < 24 or box["height"] < 24):
            walked.add(
                role,
                "pending change",
                f"{button.inner_text()} is {box['width']:.0f}×{box['height']:.0f} px, under 24×24",
            )

    # On a phone the decision's buttons stand one under the other, flush with each other.
    page.set_viewport_size(PHONE)
    lefts = {
        button.inner_text(): round(box["x"])
        for button in page.locator(".decision button[type=submit]").all()
        if (box := button.bounding_box())
    }
    if len(lefts) < 2 or len(set(lefts.values())) != 1:
        walked.add(role, "pending change", f"the decision's buttons start at {lefts} px")
    page.set_viewport_size(NARROWEST)
    for path in (reverse("admin:index"), pending, detail, reverse("sso_settings"), "/app/"):
        page.goto(path)
        if overflow := horizontal_overflow(page):
            walked.add(role, path, f"scrolls sideways at 320 px by {overflow}")
    page.goto(reverse("admin:index"))
    clipped = page.evaluate(CLIPPED_IN_CARDS)
    if clipped:
        walked.add(role, "home at 320 px", f"links cut off by their card: {clipped}")


# Links on the home page's cards that stick out of their card (the card clips them).
CLIPPED_IN_CARDS = """() => {
  const clipped = [];
  for (const card of document.querySelectorAll(".switchboard-section")) {
    const edge = card.getBoundingClientRect();
    for (const link of card.querySelectorAll("a")) {
      const box = link.getBoundingClientRect();
      const out = box.right > edge.right + 0.5 || box.left < edge.left - 0.5;
      if (out) clipped.push(link.textContent.trim());
    }
  }
  return clipped;
}"""


def sign_in_states(page: Page, walked: Walked) -> None:
    """/login/ as nobody: a bad email, a wrong password, and the theme the admin chose."""
    role = "anonymous"
    check_page(page, walked, role, "/login/", axe=True)
    page.set_viewport_size(NARROWEST)
    if overflow := horizontal_overflow(page):
        walked.add(role, "/login/", f"scrolls sideways at 320 px by {overflow}")
    page.set_viewport_size(WIDE)
    page.fill("input[name=email]", "not an email")
    submit(page, "button[type=submit]")
    check_loaded(page, walked, role, "/login/ with a bad email")
    described = page.get_attribute("input[name=email]", "aria-describedby") or ""
    if not described or page.get_attribute("input[name=email]", "aria-invalid") != "true":
        walked.add(role, "/login/ with a bad email", "the error is not tied to the email field")

    page.goto("/login/?method=password")
    page.fill("input[name=email]", "admin@acme.example")
    submit(page, "button[type=submit]")
    page.fill("input[name=password]", "not-the-password")
    submit(page, "button[type=submit]")
    check_loaded(page, walked, role, "/login/ with a wrong password")
    if not page.locator("[role=alert]").count():
        walked.add(role, "/login/ with a wrong password", "the error is no role=alert")
    if page.get_attribute("input[name=password]", "aria-invalid") != "true":
        walked.add(role, "/login/ with a wrong password", "the password is not aria-invalid")

    # The theme chosen with Admin Settings' toggle (kept in localStorage) applies here too.
    page.evaluate("() => localStorage.setItem('theme', 'dark')")
    page.goto("/login/")
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    if background in {"rgb(243, 245, 248)", "rgb(255, 255, 255)"}:
        walked.add(role, "/login/", f"ignores the dark theme (background {background})")
    page.evaluate("() => localStorage.removeItem('theme')")
