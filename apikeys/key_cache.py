"""API keys as authentication last read them, kept in each process, so that a request with a key
seen recently costs no database query — while a revocation, a plan downgrade, a scope or policy
change still holds from the very next request, in every process.

What makes that so:
- The keys epoch: a random token in the shared cache (Redis; the cache table in the quickstart).
  Once a create, change or delete of an APIKey, Company or ProvisioningPolicy row commits, a new
  one is set (`keys_changed`, from model signals, so cascades too). A write that sends no signal
  (queryset.update, bulk_*) must call `keys_changed()` itself; today the only one is
  authentication's last-used stamp, which changes nothing a request relies on.
- Authentication reads the epoch in the same round trip that asks whether the client is blocked,
  and uses an entry only when it was read under that epoch. The epoch is read before the row,
  so a row read before a change committed carries an epoch the change has replaced.
- An entry is used for MAX_AGE seconds at most: that bounds how long one can stay stale if a new
  epoch was lost (the shared cache unreachable at the moment a change committed). The process
  that made the change forgets its entries at once, whatever the shared cache does.
- Without an epoch (the shared cache restarted or evicted it) the key is read from the database
  and a new epoch added; the entry is kept only when that add won. With the shared cache
  unreachable every request reads the key from the database and nothing is kept.
- Every request still hashes the presented secret and compares it with the row's, and checks
  revocation and expiry (apikeys/services.py: authenticate). Unknown prefixes are not kept.
- An entry's models are never handed out: each request gets a copy of its own, so nothing a
  request loads into or changes on its key, company or policy reaches another (threads).
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from apikeys import selectors
from apikeys.models import APIKey
from apikeys.selectors import READ_FIELDS
from core.cache import EpochEntries

logger = logging.getLogger("switchboard.apikeys")

EPOCH_KEY = "apikeys:keys-epoch"
MAX_AGE = 60.0  # seconds
MAX_ENTRIES = 1_000


@dataclass
class _Entry:
    epoch: str
    read: APIKey  # with its company and policy; copied for each request
    loaded_at: float  # time.monotonic(), taken before the row was read
    # Authentication's last-used stamp since the row was read (it sets no new epoch).
    last_used: tuple[datetime, str | None] | None = None

    def key(self) -> APIKey:
        key = copy.deepcopy(self.read)
        if self.last_used is not None:
            key.last_used_at, key.last_used_ip = self.last_used
        return key


_cache: EpochEntries[_Entry] = EpochEntries(EPOCH_KEY, max_age=MAX_AGE, log=logger, kept="API keys")
_entries = _cache.entries  # prefix → entry, oldest first


def key_with_company(prefix: str, epoch: Any) -> APIKey | None:
    """The key with this prefix, its company and policy, as apikeys.selectors reads them: from
    this process's entry when it was read under `epoch` (the shared cache's, which the caller
    read) less than MAX_AGE seconds ago, else from the database. None for an unknown prefix."""
    entry = _cache.fresh(prefix, epoch)
    if entry is not None:
        return entry.key()
    epoch = _cache.epoch_to_keep(epoch)
    loaded_at, reading = time.monotonic(), _cache.reading()
    read = selectors.key_with_company(prefix)
    if read is None or epoch is None:  # unknown, or another process set the epoch meanwhile
        return read
    entry = _Entry(epoch, copy.deepcopy(read), loaded_at)
    _cache.keep(prefix, entry, reading, MAX_ENTRIES)
    return entry.key()


def stamped(key: APIKey) -> None:
    """Authentication wrote the key's last use: later requests see it without reading the row."""
    entry = _entries.get(key.prefix)
    if entry is not None and key.last_used_at is not None:
        entry.last_used = (key.last_used_at, key.last_used_ip)


def keys_changed(using: str | None = None) -> None:
    """An APIKey, Company or ProvisioningPolicy row was written: this process forgets its entries
    now (a request on this connection sees the change before it commits), and every process
    once the change commits (a new epoch; none when it rolls back)."""
    _cache.changed(using)


def forget() -> None:
    """Drop this process's entries, and any a request is reading now."""
    _cache.forget()


def _row_saved(
    sender: type[Model], update_fields: frozenset[str] | None, using: str, **kwargs: Any
) -> None:
    if update_fields is not None and not update_fields & READ_FIELDS[sender]:
        return  # writes no column authentication reads (the approvers' digest stamp)
    keys_changed(using)


def _row_deleted(sender: type[Model], using: str, **kwargs: Any) -> None:
    keys_changed(using)


def connect_signals() -> None:
    for model in READ_FIELDS:
        label = model._meta.label_lower
        post_save.connect(_row_saved, sender=model, dispatch_uid=f"key_cache.saved.{label}")
        post_delete.connect(_row_deleted, sender=model, dispatch_uid=f"key_cache.deleted.{label}")
