"""The scripts `make run` and `make test` call on a fresh machine."""

import re

from django.conf import settings


def test_every_apt_get_waits_for_the_lock_and_says_so():
    script = (settings.BASE_DIR / "scripts" / "ensure-debian-packages").read_text()
    calls = [
        line
        for line in script.splitlines()
        if re.search(r"\bapt-get\b", line) and not line.lstrip().startswith("#")
    ]
    assert len(calls) >= 2
    for line in calls:
        assert "-o DPkg::Lock::Timeout=" in line, line
    assert "waiting up to" in script
