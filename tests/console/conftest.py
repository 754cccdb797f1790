import pytest

from tests.sso.saml_idp import make_key_pair


@pytest.fixture(scope="session")
def idp_key(tmp_path_factory):
    """The test IdP's signing key and certificate (what OneLogin shows as its X.509 cert)."""
    return make_key_pair(tmp_path_factory.mktemp("console-idp"), "onelogin")
