"""Sessions in the database (SESSION_ENGINE), written once per sign-in.

Django's database backend, written in one round trip per sign-in: a lone INSERT. Sessions stay
in the database, so every web process sees a deleted session at once (Enforce SSO ends password
sessions there, `sso.services.end_password_sessions`) and Redis being down signs nobody out.
"""

from __future__ import annotations

from contextlib import nullcontext

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.utils.crypto import get_random_string


class SessionStore(DatabaseSessionStore):
    def _get_new_session_key(self) -> str:
        # The stock check asks the database whether the key exists first. 32 random characters
        # never collide in practice, and when they do the primary key refuses the INSERT and
        # create() draws another: the question is a round trip for nothing.
        return get_random_string(32, VALID_KEY_CHARS)

    def cycle_key(self) -> None:
        # Signing in gives the session a new key so that a key planted in the browser beforehand
        # is useless (session fixation). A session with no stored row has no such key: loading
        # an unknown or expired one leaves it keyless. Its first save at the end of the request
        # draws a fresh key, with the signed-in user already in it: one INSERT instead of an
        # INSERT now and an UPDATE then.
        self._get_session()  # type: ignore[attr-defined]  # loads it: an unknown key becomes None
        if self.session_key is None:
            self.modified = True
            return
        super().cycle_key()

    def save(self, must_create: bool = False) -> None:
        # The stock save wraps its one INSERT or UPDATE in a transaction: BEGIN and COMMIT are
        # two more round trips, and a lone statement in autocommit is atomic by itself. Inside
        # a caller's transaction it still takes a savepoint, so that a key already taken
        # (IntegrityError) leaves the caller's transaction usable.
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        obj = self.create_model_instance(data)
        using = router.db_for_write(self.model, instance=obj)
        guard = (
            transaction.atomic(using=using) if connections[using].in_atomic_block else nullcontext()
        )
        try:
            with guard:
                obj.save(force_insert=must_create, force_update=not must_create, using=using)
        except IntegrityError:
            if must_create:
                raise CreateError from None
            raise
        except DatabaseError:
            if not must_create:
                raise UpdateError from None
            raise
