"""Who owns what on a user the identity provider manages (`managed_by=scim`).

The rule, and why:

- **The IdP always owns** the profile (email, userName, externalId, names, title, department —
  not writable through this API at all) and **whether the user is active**. OneLogin, Okta and
  Entra send `active` with every push and treat their own value as the truth: a suspension made
  here would be undone at the next push — or, worse, silently survive until then, so the two
  systems disagree (drift) about who can sign in. The API refuses `suspend` and `reactivate`
  for these users with 409 `idp_owned`, naming the IdP; do it in the IdP.
- **The company owns** office, license and phone number — *unless the IdP sends them*. Our SCIM
  extension lets an IdP send `officeName`, `licenseType`, `areaCode` and a work number, but most
  setups do not map them. When one is sent, the IdP's next push wins (last writer wins), so a
  change made here would be reverted. We therefore treat an attribute as the IdP's once a SCIM
  update has changed it for that user (an `AuditEvent` of source `scim` outside the request that
  created the user — the creation's defaults, main office and `talk`, are ours, not the IdP's).
  From then on the API refuses to fight it (409 `idp_owned`); until then, it is the admin's.
  An IdP that sends an attribute but never changes it is not noticed — and has nothing to
  revert either, until it does, after which the API refuses.
- **Pending users** (created by the IdP, waiting for an approver) are refused every change:
  approving or rejecting their creation decides them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.db.models import Q

from accounts.audit import Source
from accounts.errors import DomainError
from accounts.models import AuditEvent, Company, ManagedBy, User, UserStatus

# The user attributes the API writes, and the audit actions that show the IdP writing them.
ATTRIBUTE_LABELS = {
    "active": "whether they are active",
    "office": "office",
    "license_type": "license",
    "phone_number": "phone number",
}
_USER_TARGET_ACTIONS = {
    "office": ("user.office_changed",),
    "license_type": ("license.assigned", "license.released"),
}
_NUMBER_ACTIONS = ("number.assigned",)

_KNOWN_IDPS = (
    ("onelogin.com", "OneLogin"),
    ("okta.com", "Okta"),
    ("oktapreview.com", "Okta"),
    ("microsoftonline.com", "Microsoft Entra ID"),
    ("windows.net", "Microsoft Entra ID"),
)


class IdPOwned(DomainError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field, code="idp_owned")


def idp_name(company: Company) -> str:
    """The company's identity provider by name when its SAML settings tell (OneLogin …)."""
    from sso.models import SAMLConfig

    config = SAMLConfig.objects.filter(company=company).only("idp_entity_id", "idp_sso_url").first()
    if config is not None:
        for url in (config.idp_sso_url, config.idp_entity_id):
            host = (urlsplit(url).hostname or "").lower()
            for domain, name in _KNOWN_IDPS:
                if host == domain or host.endswith("." + domain):
                    return name
    return "your identity provider"


def _creation_request_id(user: User) -> str:
    created = (
        AuditEvent.objects.filter(
            target_type="accounts.user", target_id=str(user.pk), action="user.created"
        )
        .order_by("id")
        .values_list("request_id", flat=True)
        .first()
    )
    return created or ""


def idp_has_written(user: User, attribute: str) -> bool:
    """Whether a SCIM update (not the user's creation) has changed `attribute` for the user."""
    if attribute == "phone_number":
        events = AuditEvent.objects.filter(
            company=user.company,
            action__in=_NUMBER_ACTIONS,
            source=Source.SCIM,
            after__user=user.email,
        )
    else:
        events = AuditEvent.objects.filter(
            target_type="accounts.user",
            target_id=str(user.pk),
            action__in=_USER_TARGET_ACTIONS[attribute],
            source=Source.SCIM,
        )
    creation = _creation_request_id(user)
    if creation:
        events = events.filter(~Q(request_id=creation))
    return events.exists()


def ensure_api_may_change(user: User, attribute: str) -> None:
    """Raise IdPOwned (409) when the API must not change `attribute` of `user`; see above."""
    label = ATTRIBUTE_LABELS[attribute]
    if user.status == UserStatus.PENDING:
        raise IdPOwned(
            f"{user.email} is waiting for an approver to accept their creation. Approve or reject "
            "that pending change first; until then the user cannot be changed.",
            field=None,
        )
    if user.managed_by != ManagedBy.SCIM or user.company is None:
        return
    idp = idp_name(user.company)
    if attribute == "active":
        raise IdPOwned(
            f"{user.email} is managed by {idp} over SCIM, and {idp} owns {label}: suspend or "
            f"reactivate them in {idp}. A change made here would be undone at its next push.",
            field=None,
        )
    if idp_has_written(user, attribute):
        raise IdPOwned(
            f"{idp} sets the {label} of {user.email} over SCIM, so it owns it: change it in "
            f"{idp}. A change made here would be reverted at its next push.",
            field=attribute if attribute != "phone_number" else None,
        )
