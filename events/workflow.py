"""The case lifecycle after GB/T 30428 / CJJ/T 106 (standards.md §1.5), as one table.

report → register (立案) or reject → dispatch → accept (签收) → arrive (到场) → resolve (处置)
→ verify (核查) → close (结案); return (回退, "not ours") → re-dispatch; rework (返工) when
verification fails; park (挂账) and unpark; merge into another case; dispute within 7 days of
closure reopens the case for verification. Actions that change no status (note, route, escalate,
rate, extension requests, replies) are logged too, through ``NOTE_ACTIONS``.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from events.models import Case

S = Case.Status


@dataclass(frozen=True)
class Transition:
    sources: frozenset
    target: str
    stamp: str | None = None  # the Case timestamp field set when it happens
    needs_note: bool = False  # a reason is required (reject, return, rework, park)
    label: str = ""


TRANSITIONS: dict[str, Transition] = {
    "register": Transition(frozenset({S.REPORTED}), S.REGISTERED, "registered_at", label=_("立案")),
    "reject": Transition(
        frozenset({S.REPORTED}), S.REJECTED, "closed_at", needs_note=True, label=_("不予立案")
    ),
    "dispatch": Transition(
        frozenset({S.REGISTERED, S.RETURNED, S.DISPATCHED, S.ACCEPTED, S.ON_SITE, S.REWORK}),
        S.DISPATCHED,
        "dispatched_at",
        label=_("派遣"),
    ),
    "accept": Transition(frozenset({S.DISPATCHED}), S.ACCEPTED, "accepted_at", label=_("签收")),
    "arrive": Transition(
        frozenset({S.ACCEPTED, S.REWORK}), S.ON_SITE, "arrived_at", label=_("到场")
    ),
    "resolve": Transition(
        frozenset({S.ACCEPTED, S.ON_SITE, S.REWORK}), S.RESOLVED, "resolved_at", label=_("处置完毕")
    ),
    "return": Transition(
        frozenset({S.DISPATCHED, S.ACCEPTED}), S.RETURNED, needs_note=True, label=_("回退")
    ),
    "verify": Transition(frozenset({S.RESOLVED}), S.VERIFIED, "verified_at", label=_("核查通过")),
    "rework": Transition(
        frozenset({S.RESOLVED, S.VERIFIED}), S.REWORK, needs_note=True, label=_("返工")
    ),
    "close": Transition(frozenset({S.VERIFIED}), S.CLOSED, "closed_at", label=_("结案")),
    "park": Transition(
        frozenset({S.REGISTERED, S.RETURNED, S.DISPATCHED, S.ACCEPTED}),
        S.PARKED,
        needs_note=True,
        label=_("挂账"),
    ),
    "unpark": Transition(frozenset({S.PARKED}), S.REGISTERED, label=_("解除挂账")),
    "merge": Transition(
        frozenset({S.REPORTED, S.REGISTERED, S.DISPATCHED, S.RETURNED}),
        S.MERGED,
        "closed_at",
        label=_("合并"),
    ),
    "dispute": Transition(
        frozenset({S.CLOSED}), S.RESOLVED, needs_note=True, label=_("对结案有异议")
    ),
}

NOTE_ACTIONS = {
    "report": _("上报"),
    "route": _("自动分拨"),
    "recommend": _("推荐派遣"),
    "escalate": _("超时升级"),
    "note": _("备注"),
    "rate": _("评价"),
    "extension_request": _("申请延期"),
    "extension_approve": _("批准延期"),
    "extension_refuse": _("驳回延期"),
    "reply": _("答复市民"),
    "duplicate": _("重复上报"),
    "callback": _("回访"),
    "assist": _("协同处置"),
    "join": _("同圈联动"),
    "position": _("位置"),
}


def action_label(action: str) -> str:
    if action in TRANSITIONS:
        return str(TRANSITIONS[action].label)
    return str(NOTE_ACTIONS.get(action, action))


def allowed_actions(status: str) -> list[str]:
    return [name for name, t in TRANSITIONS.items() if status in t.sources]


# Who may take each action (the API asks action_permitted; services stay callable by machines).
# The command centre (operator, commander, district admin: capability "case.dispatch") registers,
# verifies and closes — 监督 and 指挥 are separate axes (standards.md §1.5) and the field never
# closes its own case; the case's handler accepts, arrives, resolves and returns it.
CENTRE_ACTIONS = frozenset(
    {
        "register",
        "reject",
        "dispatch",
        "verify",
        "rework",
        "close",
        "park",
        "unpark",
        "merge",
        "extension_approve",
        "extension_refuse",
        "callback",
    }
)
HANDLER_ACTIONS = frozenset({"accept", "arrive", "resolve", "return", "extension_request"})
# Field roles that may claim a case dispatched to their unit without a named handler.
FIELD_ROLES = frozenset({"grid_worker", "grid_leader", "handler", "area_leader"})
STAFF_NOTE_ACTIONS = ("note", "reply", "extension_request", "extension_approve", "extension_refuse")


def action_permitted(user, case: Case, action: str) -> bool:
    """Whether ``user`` (who can see ``case``) may take ``action`` on it, whatever its status."""
    from accounts.selectors import user_can

    if action in CENTRE_ACTIONS:
        return user_can(user, "case.dispatch")
    if action in HANDLER_ACTIONS:
        if case.handler_id == user.id:
            return True
        return action == "accept" and case.handler_id is None and user.role in FIELD_ROLES
    if action == "reply":
        return case.handler_id == user.id or user_can(user, "case.dispatch")
    return action == "note"


def actions_for(user, case: Case, *, pending_extension: bool = False) -> list[str]:
    """The actions the user can take on the case now (status allows it and the role may)."""
    names = [
        a
        for a in allowed_actions(case.status)
        if a != "dispute" and action_permitted(user, case, a)
    ]
    if case.status not in Case.FINAL_STATUSES:
        names += [a for a in ("note", "reply") if action_permitted(user, case, a)]
        if (
            case.is_open
            and not pending_extension
            and action_permitted(user, case, "extension_request")
        ):
            names.append("extension_request")
        if pending_extension and action_permitted(user, case, "extension_approve"):
            names += ["extension_approve", "extension_refuse"]
    else:
        names += [a for a in ("note",) if action_permitted(user, case, a)]
    return names
