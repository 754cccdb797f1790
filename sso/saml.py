"""Each company's SAML service provider, built from the database for djangosaml2 and pysaml2.

Our entity id is the company's metadata URL and our ACS its /sso/<slug>/acs/, both from
PUBLIC_BASE_URL (never from the request's Host header). The IdP is described by inline metadata
built from the company's settings, with one or two signing certificates (rollover).
"""

from __future__ import annotations

import shutil
from typing import Any
from xml.sax.saxutils import quoteattr

import saml2
from django.conf import settings
from django.http import Http404, HttpRequest
from django.urls import reverse
from saml2.config import SPConfig
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS

from sso.certificates import BINDING_POST, BINDING_REDIRECT, certificate_body
from sso.models import SAMLConfig

# Allowed clock difference between us and the IdP, in seconds.
CLOCK_SKEW_SECONDS = 60


def absolute(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


def sp_entity_id(slug: str) -> str:
    return absolute(reverse("sso:metadata", args=[slug]))


def sp_acs_url(slug: str) -> str:
    return absolute(reverse("sso:acs", args=[slug]))


def sp_sls_url(slug: str) -> str:
    return absolute(reverse("sso:sls", args=[slug]))


def idp_metadata_xml(config: SAMLConfig) -> str:
    keys = "".join(
        '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
        f"{certificate_body(pem)}"
        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        for pem in config.certificates
    )
    slo = ""
    if config.idp_slo_url:
        slo = "".join(
            f"<md:SingleLogoutService Binding={quoteattr(binding)} "
            f"Location={quoteattr(config.idp_slo_url)}/>"
            for binding in (BINDING_REDIRECT, BINDING_POST)
        )
    sso = "".join(
        f"<md:SingleSignOnService Binding={quoteattr(binding)} "
        f"Location={quoteattr(config.idp_sso_url)}/>"
        for binding in (BINDING_REDIRECT, BINDING_POST)
    )
    return (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" '
        f"entityID={quoteattr(config.idp_entity_id)}>"
        '<md:IDPSSODescriptor WantAuthnRequestsSigned="false" '
        'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f"{keys}{slo}"
        f"<md:NameIDFormat>{NAMEID_FORMAT_EMAILADDRESS}</md:NameIDFormat>"
        f"{sso}</md:IDPSSODescriptor></md:EntityDescriptor>"
    )


def sp_config_dict(slug: str, config: SAMLConfig | None) -> dict[str, Any]:
    """The pysaml2 SP configuration of one company (no IdP yet: metadata only describes us)."""
    acs = sp_acs_url(slug)
    sls = sp_sls_url(slug)
    sp: dict[str, Any] = {
        "name": f"Switchboard ({slug})",
        "endpoints": {
            "assertion_consumer_service": [(acs, saml2.BINDING_HTTP_POST)],
            "single_logout_service": [
                (sls, saml2.BINDING_HTTP_REDIRECT),
                (sls, saml2.BINDING_HTTP_POST),
            ],
        },
        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
        "name_id_format_allow_create": False,
        # OneLogin's "SAML signature element" may sign the assertion, the response or both:
        # accept any of the three, never neither.
        "want_assertions_or_response_signed": True,
        "want_assertions_signed": False,
        "want_response_signed": False,
        "authn_requests_signed": False,
        "logout_requests_signed": False,
        "allow_unsolicited": bool(config and config.allow_idp_initiated),
        "allow_unknown_attributes": True,
        "signing_algorithm": saml2.xmldsig.SIG_RSA_SHA256,
        "digest_algorithm": saml2.xmldsig.DIGEST_SHA256,
    }
    conf: dict[str, Any] = {
        "entityid": sp_entity_id(slug),
        "xmlsec_binary": shutil.which("xmlsec1") or "/usr/bin/xmlsec1",
        "service": {"sp": sp},
        "accepted_time_diff": CLOCK_SKEW_SECONDS,
        # Signatures are checked only against certificates we were given, never KeyInfo's.
        "only_use_keys_in_metadata": True,
        "allow_unknown_attributes": True,
        "delete_tmpfiles": True,
        "metadata": {"inline": [idp_metadata_xml(config)]} if config else {},
    }
    return conf


def build_sp_config(slug: str, config: SAMLConfig | None) -> SPConfig:
    sp_config = SPConfig()
    sp_config.load(sp_config_dict(slug, config))
    return sp_config


def config_loader(request: HttpRequest) -> SPConfig:
    """djangosaml2's SAML_CONFIG_LOADER: the SP of the company in the URL (/sso/<slug>/…)."""
    company = getattr(request, "saml_company", None)
    if company is None:
        raise Http404("No such company.")
    return build_sp_config(company.slug, getattr(request, "saml_config", None))
