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
    from kombu import pools

    from config.celery import app

    # Even an eager task borrows a producer from kombu's process-wide pools; a test that force-
    # closed them (tests/approvals/test_worker_integration.py) would leave them unusable.
    pools.reset()

    # The app reads Django settings under the CELERY_ namespace: set that key, not the lower-case
    # attribute, which the namespaced key shadows.
    saved = app.conf.get("CELERY_TASK_ALWAYS_EAGER")
    app.conf.update({"CELERY_TASK_ALWAYS_EAGER": True})
    yield
    app.conf.update({"CELERY_TASK_ALWAYS_EAGER": saved})
