"""Changes "as another process would see them", for the caches kept per process under an epoch
(core.cache.EpochEntries): this process keeps the entries it held before the change (another
process's memory gets no signal) and learns of it only through the new epoch, set when the
change commits. With commit=False the new epoch never comes."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.test import TestCase

from core.cache import EpochEntries


@contextmanager
def changed_elsewhere(entries: EpochEntries[Any], *, commit: bool = True) -> Iterator[None]:
    held = dict(entries.entries)
    with TestCase.captureOnCommitCallbacks(execute=commit):
        yield
    entries.forget()
    entries.entries.update(held)
