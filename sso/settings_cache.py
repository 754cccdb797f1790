"""The company of /sso/<slug>/acs/ with its SAML settings, as the ACS last read them, kept in
each process: a sign-in reads no settings from the database, while a change to them (the
settings page, the admin, `configure_saml`, a Test sign-in's outcome, Enforce SSO, a plan or
name change) holds from the very next sign-in, in every process.

The rules are the API keys' (apikeys/key_cache.py), with an epoch of their own:
- The settings epoch: a random token in the shared cache. Once a create, change or delete of a
  Company or SAMLConfig row commits, a new one is set (`settings_changed`, from model signals,
  so cascades too). A write that sends no signal (queryset.update, bulk_*) must call
  `settings_changed()` itself; today there is none.
- The ACS reads the epoch in the round trip that asks whether the client is blocked
  (`sso.services.acs_shared_state`), before the row, and uses an entry only when it was read
  under that epoch, for MAX_AGE seconds at most (a new epoch lost while the shared cache was
  unreachable). The process that made the change forgets its entries at once.
- Without an epoch the row is read from the database and a new epoch added; the entry is kept
  only when that add won. With the shared cache unreachable every sign-in reads the database,
  as before, and nothing is kept: a Redis outage never stops a sign-in.
- Each sign-in gets copies of its own of the company and its settings, never the entry's.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from accounts.models import Company
from core.cache import EpochEntries
from sso import selectors
from sso.models import SAMLConfig

logger = logging.getLogger("switchboard.sso")

EPOCH_KEY = "sso:settings-epoch"
MAX_AGE = 60.0  # seconds
MAX_ENTRIES = 1_000


@dataclass
class _Entry:
    epoch: str
    company: Company
    config: SAMLConfig | None
    loaded_at: float  # time.monotonic(), taken before the row was read

    def copied(self) -> Company:
        # Shallow copies suffice: every field value is immutable; each copy has its own state.
        company = copy.copy(self.company)
        company.saml_config = copy.copy(self.config)
        return company


_cache: EpochEntries[_Entry] = EpochEntries(
    EPOCH_KEY, max_age=MAX_AGE, log=logger, kept="SAML settings"
)
_entries = _cache.entries  # slug → entry, oldest first


def company_with_saml_config(slug: str, epoch: Any) -> Company | None:
    """sso.selectors' `company_with_saml_config(slug)`: from this process's entry when it was
    read under `epoch` (the shared cache's, which the caller read) less than MAX_AGE seconds
    ago, else from the database. None for an unknown slug."""
    entry = _cache.fresh(slug, epoch)
    if entry is not None:
        return entry.copied()
    epoch = _cache.epoch_to_keep(epoch)
    loaded_at, reading = time.monotonic(), _cache.reading()
    read = selectors.company_with_saml_config(slug)
    if read is None or epoch is None:  # unknown, or another process set the epoch meanwhile
        return read
    entry = _Entry(epoch, read, getattr(read, "saml_config", None), loaded_at)
    _cache.keep(slug, entry, reading, MAX_ENTRIES)
    return entry.copied()


def settings_changed(using: str | None = None) -> None:
    """A Company or SAMLConfig row was written: this process forgets its entries now, and
    every process once the change commits (a new epoch; none when it rolls back)."""
    _cache.changed(using)


def forget() -> None:
    """Drop this process's entries, and any a sign-in is reading now."""
    _cache.forget()


def _row_written(sender: type[Model], using: str, **kwargs: Any) -> None:
    settings_changed(using)


def connect_signals() -> None:
    for model in (Company, SAMLConfig):
        label = model._meta.label_lower
        post_save.connect(_row_written, sender=model, dispatch_uid=f"settings_cache.saved.{label}")
        post_delete.connect(
            _row_written, sender=model, dispatch_uid=f"settings_cache.deleted.{label}"
        )
