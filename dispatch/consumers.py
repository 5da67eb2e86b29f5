"""Websocket consumers of the live push (protocol: notes/EVENTS.md, "Websocket protocol").

- ``/ws/live/?after=<seq>``            staff: the cases of their part of the town and their own
- ``/ws/case/<id>/?after=<seq>``       staff watching one case (scope-checked)
- ``/ws/track/<token>/?after=<seq>``   the reporter: a reduced payload, no names, phones or notes

On connect: hello {"last_seq": N}, then every entry after ``after`` the user may see (from the
database, so nothing lost while the socket was down is lost for good), then {"type": "ready"},
then live messages. An entry can arrive twice — once from the catch-up query and once live, or
through two groups (the case's grid and its handler) — so each connection remembers the seqs it
has sent and drops repeats.
"""

import logging
from collections import deque
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db.models import Max

from cockpit.errors import ApplicationError
from events import selectors as event_selectors
from events.live import entry_payload, reporter_message
from events.models import CaseLog

log = logging.getLogger(__name__)

CATCH_UP_PAGE = 500
CATCH_UP_MAX = 5000  # beyond this a client is better off reloading the page
REMEMBER = 4096  # seqs kept per connection to drop repeats (two groups, catch-up racing live)

# Close codes (4000–4999 are the application's): the client stops retrying on these.
CLOSE_UNAUTHORISED = 4401
CLOSE_FORBIDDEN = 4403


def _after(scope) -> int:
    raw = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("after", [""])[0]
    try:
        return max(0, int(raw))
    except ValueError:
        return -1  # absent or garbage: no catch-up, the page has rendered the present


class _SeqConsumer(AsyncJsonWebsocketConsumer):
    """Common plumbing: remember what was sent, catch up, forward group messages."""

    async def connect(self):
        self.sent: set[int] = set()
        self.order: deque[int] = deque()
        self.joined: list[str] = []
        self.after = _after(self.scope)
        allowed = await self.authorise()
        if not allowed:
            # Closing before accept answers the HTTP upgrade with 403: the socket never opens.
            await self.close(code=CLOSE_FORBIDDEN)
            return
        for group in self.groups_to_join():
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.append(group)
        await self.accept()
        # Joined before reading the log: an entry committed meanwhile comes live, the catch-up
        # query or both (then once, see _remember), never neither.
        last_seq = await self.last_seq()
        await self.send_json({"type": "hello", "last_seq": last_seq})
        if self.after >= 0:
            truncated = await self.catch_up(self.after)
            if truncated:
                await self.send_json({"type": "catchup.truncated", "last_seq": last_seq})
        await self.send_json({"type": "ready", "last_seq": last_seq})

    async def disconnect(self, code):
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # The protocol is one-way; a ping keeps proxies from closing an idle socket.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    def _remember(self, seq: int) -> bool:
        """True the first time a seq is seen on this connection."""
        if seq in self.sent:
            return False
        self.sent.add(seq)
        self.order.append(seq)
        if len(self.order) > REMEMBER:
            self.sent.discard(self.order.popleft())
        return True

    async def catch_up(self, after: int) -> bool:
        sent = 0
        while True:
            page = await self.entries_after(after)
            for message in page:
                after = max(after, message["seq"])
                if self._remember(message["seq"]):
                    await self.send_json(message)
            sent += len(page)
            if len(page) < CATCH_UP_PAGE:
                return False
            if sent >= CATCH_UP_MAX:
                return True

    async def case_updated(self, message):
        """Group message "case.updated" from events.live.push_entry."""
        out = self.reduce(message)
        if out is not None and self._remember(out["seq"]):
            await self.send_json(out)

    # --- per consumer ---
    async def authorise(self) -> bool:
        raise NotImplementedError

    def groups_to_join(self) -> list[str]:
        raise NotImplementedError

    async def last_seq(self) -> int:
        raise NotImplementedError

    async def entries_after(self, after: int) -> list[dict]:
        raise NotImplementedError

    def reduce(self, message: dict) -> dict | None:
        return {k: v for k, v in message.items() if k != "type"} | {"type": "case.updated"}


def _staff_ok(user) -> bool:
    from accounts.models import User

    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.role not in User.THREE_ADMINS
    )


def _staff_payloads(user, after: int, case_id: int | None) -> list[dict]:
    entries = event_selectors.log_since_for(
        user=user, after=after, case_id=case_id, limit=CATCH_UP_PAGE
    )
    return [entry_payload(e) for e in entries]


class LiveConsumer(_SeqConsumer):
    """/ws/live/ — a staff member's feed: their scope node's group and their personal group."""

    async def authorise(self) -> bool:
        self.user = self.scope.get("user")
        if not _staff_ok(self.user):
            return False
        self.scope_id = self.user.scope_id
        return True

    def groups_to_join(self) -> list[str]:
        # The narrowest groups that carry what the user may see: every case under their scope
        # node is pushed to dispatch.node.<scope id> (events.live.groups_for), and a case handed
        # to them personally to dispatch.staff.<id>.
        groups = [f"dispatch.staff.{self.user.id}"]
        if self.scope_id is not None:
            groups.insert(0, f"dispatch.node.{self.scope_id}")
        return groups

    @database_sync_to_async
    def last_seq(self) -> int:
        return CaseLog.objects.aggregate(m=Max("id"))["m"] or 0

    @database_sync_to_async
    def entries_after(self, after: int) -> list[dict]:
        return _staff_payloads(self.user, after, None)


class CaseConsumer(_SeqConsumer):
    """/ws/case/<id>/ — one case's timeline for staff who may see that case."""

    @database_sync_to_async
    def _case_visible(self, case_id: int) -> bool:
        try:
            event_selectors.case_get_for(user=self.user, id=case_id)
        except ApplicationError:
            return False
        return True

    async def authorise(self) -> bool:
        self.user = self.scope.get("user")
        if not _staff_ok(self.user):
            return False
        self.case_id = int(self.scope["url_route"]["kwargs"]["case_id"])
        return await self._case_visible(self.case_id)

    def groups_to_join(self) -> list[str]:
        return [f"events.case.{self.case_id}"]

    @database_sync_to_async
    def last_seq(self) -> int:
        return CaseLog.objects.filter(case_id=self.case_id).aggregate(m=Max("id"))["m"] or 0

    @database_sync_to_async
    def entries_after(self, after: int) -> list[dict]:
        return _staff_payloads(self.user, after, self.case_id)


class TrackConsumer(_SeqConsumer):
    """/ws/track/<token>/ — the reporter, authorised by the secret in their tracking link."""

    @database_sync_to_async
    def _case_id(self, token: str) -> int | None:
        case = event_selectors.case_by_token(token=token)
        return case.id if case is not None else None

    async def authorise(self) -> bool:
        token = self.scope["url_route"]["kwargs"]["token"]
        self.case_id = await self._case_id(token) if 20 <= len(token) <= 64 else None
        if self.case_id is None:
            return False
        if self.after < 0:
            self.after = 0  # one case's public steps are few: always send them all
        return True

    def groups_to_join(self) -> list[str]:
        return [f"events.case.{self.case_id}"]

    @database_sync_to_async
    def last_seq(self) -> int:
        return CaseLog.objects.filter(case_id=self.case_id).aggregate(m=Max("id"))["m"] or 0

    @database_sync_to_async
    def entries_after(self, after: int) -> list[dict]:
        from events.models import Case

        case = Case.objects.only("id").get(id=self.case_id)
        # track_entries skips what the reporter may not see; paging is by the last seq it read.
        return event_selectors.track_entries(case=case, after=after)[:CATCH_UP_PAGE]

    def reduce(self, message: dict) -> dict | None:
        return reporter_message(message)
