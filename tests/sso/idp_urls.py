"""URLs for browser tests: the whole site plus a tiny stand-in for the IdP's sign-in page.

The IdP page asks for an email like OneLogin's does, then answers our AuthnRequest with a
response signed by pysaml2's IdP, posted to the ACS by an auto-submitting form.
"""

import html

from csp.decorators import csp_exempt
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as site_urlpatterns
from sso.saml import sp_acs_url

IDP: dict = {}  # "idp": the TestIdP the browser test signs with


@csp_exempt()  # the identity provider's page, not ours: its own policy, not Switchboard's
@csrf_exempt
def idp_sign_in(request):
    saml_request = request.GET.get("SAMLRequest") or request.POST.get("SAMLRequest", "")
    relay_state = request.GET.get("RelayState") or request.POST.get("RelayState", "")
    hidden = (
        f'<input type="hidden" name="SAMLRequest" value="{html.escape(saml_request)}">'
        f'<input type="hidden" name="RelayState" value="{html.escape(relay_state)}">'
    )
    if request.method == "GET":
        return HttpResponse(
            '<!doctype html><meta name="viewport" content="width=device-width">'
            "<h1>Test IdP</h1><form method=post>"
            f'{hidden}<input name="email" type="email"><button>Sign in</button></form>'
        )
    idp = IDP["idp"]
    request_id = idp.request_id_of(request.build_absolute_uri())
    saml_response = idp.response(request.POST["email"], in_response_to=request_id)
    return HttpResponse(
        "<!doctype html><p>Signing you in…</p>"
        f'<form method="post" action="{sp_acs_url("acme")}">'
        f'<input type="hidden" name="SAMLResponse" value="{saml_response}">'
        f'<input type="hidden" name="RelayState" value="{html.escape(relay_state)}">'
        "</form><script>document.forms[0].submit()</script>"
    )


urlpatterns = [path("test-idp/sso", idp_sign_in), *site_urlpatterns]
