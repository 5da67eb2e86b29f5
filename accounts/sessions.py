"""The session store (SESSION_ENGINE): Django's database store on accounts.Session, whose row
also names the logged-in user, read together with that user in one plain query.

Every logged-in request loads its session and then its user. Django's store builds and
compiles an ORM query and a model instance for each; that, and the second round trip, was a
third of the CPU of a grid worker's report. Here one SQL statement reads the session row and
joins the user's row; accounts.auth.StaffBackend takes that user instead of asking again, when
Django's auth asks for the same id while resolving this request's user (``current``). Writes
(login, the idle-timeout's last-seen stamp, logout) and the async path stay Django's, so a
session still lives in PostgreSQL and survives a Redis outage, deleting the row still ends it,
and the user is read fresh on every request: deactivation and a new password take effect at
the next request, as before.
"""

from contextvars import ContextVar

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

from accounts.models import Session, User
from cockpit.prepared import prepared_execute

# The session store whose request's user Django's auth is resolving now (set by
# accounts.middleware.AuthenticationMiddleware around auth.get_user).
current: ContextVar["SessionStore | None"] = ContextVar("accounts_session_current", default=None)

# The user's every column, in the order Model.from_db takes them; none needs a converter on
# PostgreSQL (tests/accounts/test_sessions.py compares the result with the ORM's). Here and in
# accounts.auth.StaffBackend's own query.
USER_FIELDS = User._meta.concrete_fields
USER_ATTNAMES = [f.attname for f in USER_FIELDS]


def user_columns(alias: str) -> str:
    return ", ".join(f'{alias}"{f.column}"' for f in USER_FIELDS)


# The primary key serves it; an expired row reads as no session, as in Django's store.
# Prepared once per connection (cockpit.prepared): planning the join cost ~0.3 ms a request,
# running it 0.04 ms.
_LOAD_SQL = (
    f'SELECT s.session_data, {user_columns("u.")} FROM "{Session._meta.db_table}" s'
    f' LEFT JOIN "{User._meta.db_table}" u ON u."{User._meta.pk.column}" = s.user_id'
    " WHERE s.session_key = $1 AND s.expire_date > $2"
)
_LOAD = "accounts_session_load"


class SessionStore(db.SessionStore):
    loaded_user = None  # the user row read with the session (None: no user, or not read yet)

    @classmethod
    def get_model_class(cls):
        return Session

    def create_model_instance(self, data):
        instance = super().create_model_instance(data)
        user_id = data.get(SESSION_KEY)
        instance.user_id = int(user_id) if str(user_id or "").isdigit() else None
        return instance

    def load(self) -> dict:
        self.loaded_user = None
        with connections[router.db_for_read(self.model)].cursor() as cur:
            prepared_execute(
                cur,
                _LOAD,
                [self.session_key, timezone.now()],
                types=["varchar", "timestamptz"],
                sql=_LOAD_SQL,
            )
            row = cur.fetchone()
        if row is None:
            self._session_key = None  # as Django's store does: a new key if anything is saved
            return {}
        if row[1] is not None:
            self.loaded_user = User.from_db(router.db_for_read(User), USER_ATTNAMES, row[1:])
        return self.decode(row[0])
