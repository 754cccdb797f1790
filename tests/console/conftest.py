import pytest

from tests.sso.saml_idp import make_key_pair


@pytest.fixture(scope="session")
def idp_key(tmp_path_factory):
    """The test IdP's signing key and certificate (what OneLogin shows as its X.509 cert)."""
    return make_key_pair(tmp_path_factory.mktemp("console-idp"), "onelogin")


@pytest.fixture(autouse=True)
def _tasks_in_process():
    """Approval applies in-process, as with no broker configured (the default for tests), even
    if an earlier test left Celery pointed at a broker it has since stopped."""
    from config.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved
