"""Live push of case log entries over the Channels layer (Redis).

Groups (consumers in dispatch join the narrow ones their user may see):
- ``dispatch.node.<id>``  every circle on the case's path (town, area, station, squad, grid)
- ``dispatch.staff.<id>`` the case's handler
- ``events.case.<id>``    anyone watching the case (console case page, the reporter's tracking page)
Each message carries the log entry's id as ``seq``; a client that reconnects asks for entries
after the last seq it saw, so a lost push (Redis down, a dropped socket) is never a lost update.
"""

import asyncio
import hashlib
import logging
import os
import threading
import time

import redis
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.utils.translation import get_language

from cockpit import redisclient
from events.models import Case, CaseLog
from events.workflow import action_label

log = logging.getLogger(__name__)


_labels: dict[tuple, str] = {}


def choice_label(choices, value: str, lang: str | None = None) -> str:
    """What get_<field>_display() gives, without it rebuilding the field's whole choices dict
    on every call (~0.3 ms each, two per push); remembered per language (``lang``: the active
    one, when the caller has it at hand: asking costs ~15 µs)."""
    key = (choices, value, lang or get_language())
    found = _labels.get(key)
    if found is None:
        try:
            found = str(choices(value).label)
        except ValueError:
            found = value
        _labels[key] = found
    return found


def _action_label(action: str, lang: str) -> str:
    key = ("action", action, lang)
    found = _labels.get(key)
    if found is None:
        found = _labels[key] = action_label(action)
    return found


_last_iso: tuple = (None, "")


def _iso(at) -> str:
    """``at.isoformat()``, remembering the last one: a batch's entries share one timestamp
    (their entry time and their case's report time), so a hundred pushes format it once."""
    global _last_iso
    last, text = _last_iso
    if at is not last:
        text = at.isoformat()
        _last_iso = (at, text)
    return text


def entry_payload(entry: CaseLog, lang: str | None = None) -> dict:
    lang = lang or get_language()
    case = entry.case
    point = case.location
    return {
        "type": "case.updated",
        "seq": entry.id,
        "entry": {
            "id": entry.id,
            "at": _iso(entry.at),
            "action": entry.action,
            "action_label": _action_label(entry.action, lang),
            "actor": str(entry.actor) if entry.actor_id else entry.actor_label,
            "from_status": entry.from_status,
            "to_status": entry.to_status,
            "note": entry.note[:300],
            # for the reporter's channel (reporter_message): what they may see of this entry
            "reporter_visible": reporter_visible(entry),
            "public_note": public_note(entry),
        },
        "case": {
            "id": case.id,
            "number": case.number,
            "status": case.status,
            "status_label": choice_label(Case.Status, case.status, lang),
            "category": case.category.name,
            "category_code": case.category.code,
            "grade": case.grade,
            "source": case.source,
            "source_label": choice_label(Case.Source, case.source, lang),
            "grid_id": case.grid_id,
            "handler_id": case.handler_id,
            "address": case.address,
            "lng": point.x if point else None,
            "lat": point.y if point else None,
            "reported_at": _iso(case.reported_at),
            "resolve_due": case.resolve_due.isoformat() if case.resolve_due else None,
        },
    }


_path_groups: dict[str, tuple[str, ...]] = {}


def _node_groups(path: str) -> tuple[str, ...]:
    """The area groups of a tree path (every node from the town down), remembered per path."""
    found = _path_groups.get(path)
    if found is None:
        found = tuple(f"dispatch.node.{i}" for i in path.strip("/").split("/") if i)
        if len(_path_groups) < 10_000:  # a town has a few hundred paths
            _path_groups[path] = found
    return found


def groups_for(entry: CaseLog, *, case_group: bool = True) -> list[str]:
    case = entry.case
    groups = list(_node_groups(case.node_path))
    people = {case.handler_id} if case.handler_id else set()
    # A dispatch to a plan's units or an escalation names the people it concerns.
    people.update(i for i in (entry.data or {}).get("notify", []) if isinstance(i, int))
    groups += [f"dispatch.staff.{i}" for i in sorted(people)]
    if case_group:
        groups.append(f"events.case.{case.id}")
    return groups


# One event loop per process, on a daemon thread, publishes every push. ``async_to_sync`` would
# start a new loop per call, and channels_redis keeps its Redis connections per loop, so every
# push paid for new connections (~4 ms of the ~6 ms a push cost). A long-lived loop keeps them.
# The caller still waits for the publish (bounded by PUBLISH_TIMEOUT), so an entry is on its way
# when the request answers, as before; pushes from one thread keep their order.
PUBLISH_TIMEOUT = 5.0
_loop_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None


def _publisher_loop() -> asyncio.AbstractEventLoop:
    """This process's publishing loop, started on first use (and again after a fork: the
    thread of a parent process does not exist in its child)."""
    global _loop, _loop_pid
    loop = _loop
    if loop is not None and _loop_pid == os.getpid() and loop.is_running():
        return loop
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid() or not _loop.is_running():
            loop = asyncio.new_event_loop()
            started = threading.Event()
            loop.call_soon(started.set)
            threading.Thread(target=loop.run_forever, name="events-live-push", daemon=True).start()
            started.wait(5)
            _loop, _loop_pid = loop, os.getpid()
        return _loop


async def _send_all(messages: list[tuple[list[str], dict]]) -> None:
    layer = get_channel_layer()
    for groups, message in messages:
        # The groups of one entry go out together; the next entry only after them.
        await asyncio.gather(*(layer.group_send(group, message) for group in groups))


def publish(messages: list[tuple[list[str], dict]]) -> None:
    """Send (groups, message) pairs on the channel layer from synchronous code; raises on
    failure (the callers log it)."""
    if not messages:
        return
    layer = get_channel_layer()
    address = _plain_redis_address(layer)
    if address is not None:
        _publish_sync(layer, address, messages)
        return
    future = asyncio.run_coroutine_threadsafe(_send_all(messages), _publisher_loop())
    try:
        future.result(timeout=PUBLISH_TIMEOUT)
    except BaseException:
        future.cancel()
        raise


# The plain Redis layer (one host, as here) is written to directly, on the thread's own
# connection (cockpit.redisclient.exchange), in two round trips per publish: one script gives
# the members of every group (dropping those past group_expiry), one batch of scripts delivers
# every message to every member channel (dropping messages past expiry first). Same keys, same
# checks and the layer's own serialisation (_group_key, _map_channel_keys_to_connection) as
# channels_redis 4's group_send, without an event loop and without a dozen commands per push.
_GROUP_MEMBERS_LUA = """
    local members = {}
    for i=1,#KEYS do
        redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, ARGV[1])
        members[i] = redis.call('ZRANGE', KEYS[i], 0, -1)
    end
    return members
"""
_GROUP_SEND_LUA = """
    local over_capacity = 0
    local prune_before = ARGV[#ARGV - 2]
    local current_time = ARGV[#ARGV - 1]
    local expiry = ARGV[#ARGV]
    for i=1,#KEYS do
        redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, prune_before)
        if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
            redis.call('ZADD', KEYS[i], current_time, ARGV[i])
            redis.call('EXPIRE', KEYS[i], expiry)
        else
            over_capacity = over_capacity + 1
        end
    end
    return over_capacity
"""
_GROUP_MEMBERS_SHA = hashlib.sha1(_GROUP_MEMBERS_LUA.encode()).hexdigest()
_GROUP_SEND_SHA = hashlib.sha1(_GROUP_SEND_LUA.encode()).hexdigest()
_SCRIPTS = {_GROUP_MEMBERS_SHA: _GROUP_MEMBERS_LUA, _GROUP_SEND_SHA: _GROUP_SEND_LUA}


def _plain_redis_address(layer) -> str | None:
    """The Redis address of a plain single-host RedisChannelLayer, else None (the event-loop
    path serves any other layer)."""
    if type(layer) is not RedisChannelLayer or layer.ring_size != 1:
        return None
    host = layer.hosts[0]
    if set(host) != {"address"}:
        return None
    return host["address"]


def _scripts_run(address: str, commands: list[tuple]) -> list:
    """EVALSHA commands in one round trip (cockpit.redisclient.exchange); a script Redis does
    not know (it restarted) is loaded and the commands are sent again."""
    replies = redisclient.exchange(
        commands, url=address, timeout=PUBLISH_TIMEOUT, raise_errors=False
    )
    if any(isinstance(r, redis.exceptions.NoScriptError) for r in replies):
        redisclient.exchange([("SCRIPT", "LOAD", _SCRIPTS[c[1]]) for c in commands], url=address)
        return redisclient.exchange(commands, url=address, timeout=PUBLISH_TIMEOUT)
    for r in replies:
        if isinstance(r, Exception):
            raise r
    return replies


def _publish_sync(layer, address: str, messages: list[tuple[list[str], dict]]) -> None:
    groups = list(dict.fromkeys(g for names, _m in messages for g in names))
    now = time.time()
    keys = [layer._group_key(g) for g in groups]  # noqa: SLF001 (the layer's own key format)
    (replies,) = _scripts_run(
        address,
        [("EVALSHA", _GROUP_MEMBERS_SHA, len(keys), *keys, int(now) - layer.group_expiry)],
    )
    members = {g: [c.decode("utf8") for c in replies[i]] for i, g in enumerate(groups)}
    commands = []
    for names, message in messages:
        for group in names:
            if not members[group]:
                continue
            by_connection, key_message, key_capacity = layer._map_channel_keys_to_connection(  # noqa: SLF001
                members[group], message
            )
            for channel_keys in by_connection.values():
                args = [key_message[k] for k in channel_keys]
                args += [key_capacity[k] for k in channel_keys]
                args += [int(now) - int(layer.expiry), now, layer.expiry]
                commands.append(
                    ("EVALSHA", _GROUP_SEND_SHA, len(channel_keys), *channel_keys, *args)
                )
    if commands:
        _scripts_run(address, commands)


# What a reporter sees on the tracking page and its websocket (/ws/track/<token>/): status
# changes, public replies and their own rating — never staff names, phones or internal notes.
# Text reaches the reporter only when staff wrote it for them: a "reply" entry, or the
# "public_note" a resolve/close/reject step carries in its data.
REPORTER_NOTE_ACTIONS = ("reply",)
REPORTER_EXTRA_ACTIONS = ("reply", "rate")


def reporter_visible(entry: CaseLog) -> bool:
    return (
        entry.from_status != entry.to_status
        or entry.action in REPORTER_EXTRA_ACTIONS
        or entry.action == "report"
    )


def public_note(entry: CaseLog) -> str:
    if entry.action in REPORTER_NOTE_ACTIONS:
        return entry.note[:500]
    data = entry.data if isinstance(entry.data, dict) else {}
    return str(data.get("public_note", ""))[:500]


def reporter_payload(entry: CaseLog) -> dict | None:
    """The reduced message of the reporter's channel, or None for an entry they do not see:
    {"type": "case.updated", "seq", "status", "status_label", "action", "action_label", "at",
    "public_note"}. Used by the tracking API; the /ws/track/ consumer uses reporter_message on
    the group message, which gives the same result."""
    if not reporter_visible(entry):
        return None
    status = entry.to_status or entry.from_status
    return {
        "type": "case.updated",
        "seq": entry.id,
        "status": status,
        "status_label": str(Case.Status(status).label) if status in Case.Status.values else "",
        "action": entry.action,
        "action_label": action_label(entry.action),
        "at": entry.at.isoformat(),
        "public_note": public_note(entry),
    }


def reporter_message(message: dict) -> dict | None:
    """Reduce a staff "case.updated" group message (entry_payload) to the reporter's payload."""
    entry = message.get("entry") or {}
    if not entry.get("reporter_visible"):
        return None
    status = entry.get("to_status") or entry.get("from_status") or ""
    return {
        "type": "case.updated",
        "seq": message.get("seq"),
        "status": status,
        "status_label": str(Case.Status(status).label) if status in Case.Status.values else "",
        "action": entry.get("action", ""),
        "action_label": entry.get("action_label", ""),
        "at": entry.get("at"),
        "public_note": entry.get("public_note", ""),
    }


# What a push reads back of an entry: its own columns, and of its case, category and actor only
# what groups_for and entry_payload read (a case row is wide; reading all of it, and building it
# in Python, was most of a read-back's cost).
PUSH_READ = (
    "id", "case_id", "at", "actor_id", "actor_label", "action", "from_status", "to_status",
    "note", "data",
    "case__id", "case__number", "case__status", "case__category_id", "case__grade",
    "case__source", "case__grid_id", "case__handler_id", "case__address", "case__location",
    "case__reported_at", "case__resolve_due", "case__node_path",
    "case__category__id", "case__category__name", "case__category__code",
    "actor__id", "actor__display_name", "actor__username",
)  # fmt: skip


def _read_back(entry_ids: list[int]):
    return (
        CaseLog.objects.filter(id__in=entry_ids)
        .select_related("case", "case__category", "actor")
        .only(*PUSH_READ)
        .order_by("id")
    )


def push_entries(entry_ids: list[int]) -> None:
    """Push many entries (batch intake) with one query and one publish."""
    if not entry_ids:
        return
    try:
        publish([(groups_for(e), entry_payload(e)) for e in _read_back(entry_ids)])
    except Exception:
        log.warning(
            "live push of %d log entries failed; clients will catch up",
            len(entry_ids),
            exc_info=True,
        )


def push_entries_built(entries: list[CaseLog]) -> None:
    """Push entries as their writer built them (a batch of new reports, nothing changed after).

    Not to the case's own group (events.case.<id>): nobody can be in it yet. Its sockets join
    only after finding the committed case, then read every entry after their last seq (the
    report's included) from the database; asking Redis for a hundred new, empty groups cost a
    webhook batch more than the rest of its push."""
    try:
        lang = get_language()
        publish([(groups_for(e, case_group=False), entry_payload(e, lang)) for e in entries])
    except Exception:
        log.warning(
            "live push of %d log entries failed; clients will catch up", len(entries), exc_info=True
        )


def push_entry(entry_id: int, entry: CaseLog | None = None) -> None:
    """Called after commit. A failure here is logged, never raised: clients catch up by seq.

    ``entry``: the entry as its writer built it, when nothing changed its case after it was
    written in that transaction (a new report); pushed without reading it back."""
    try:
        if entry is None or entry.id != entry_id:
            entry = _read_back([entry_id]).get()
        publish([(groups_for(entry), entry_payload(entry))])
    except Exception:
        log.warning(
            "live push of log entry %s failed; clients will catch up", entry_id, exc_info=True
        )
