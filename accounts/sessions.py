"""The session store (SESSION_ENGINE): Django's database store, read with one plain query.

Every logged-in request loads its session. Django's store builds and compiles an ORM query and
a model instance for it; with the user's load (accounts.auth.StaffBackend) that was a third of
the CPU of a grid worker's report. This store asks the same table the same question in SQL. Writes (login, the
idle-timeout's last-seen stamp, logout) and the async path stay Django's, so a session still
lives in PostgreSQL and survives a Redis outage, and deleting the row still ends it.
"""

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.db import connections, router
from django.utils import timezone

# The primary key serves it; an expired row reads as no session, as in Django's store.
_LOAD_SQL = (
    f'SELECT session_data FROM "{Session._meta.db_table}"'
    " WHERE session_key = %s AND expire_date > %s"
)


class SessionStore(db.SessionStore):
    def load(self) -> dict:
        with connections[router.db_for_read(self.model)].cursor() as cur:
            cur.execute(_LOAD_SQL, [self.session_key, timezone.now()])
            row = cur.fetchone()
        if row is None:
            self._session_key = None  # as Django's store does: a new key if anything is saved
            return {}
        return self.decode(row[0])
