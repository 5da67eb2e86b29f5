"""Answers to the reporter (答复模板): chosen by an operator, or sent by themselves.

A reply is a "reply" entry in the case's log (events.services.case_note): the tracking page and
its websocket show it to the reporter, and the log keeps who said what. A template with
``auto_send`` goes out when a case takes the template's action (立案, 派遣, 结案…): a receiver on
the log queues it after that step commits, with the step's id in the client_action_id, so one
step never gets two automatic answers however often the signal fires.
"""

import logging
import time

from django.db import transaction
from django.db.models.signals import post_save
from django.utils.translation import gettext as _

from cockpit.errors import ApplicationError
from dispatch.models import AnswerTemplate
from dispatch.selectors import answer_render
from events import services as case_services
from events.models import Case, CaseLog
from events.signals import entries_written

log = logging.getLogger(__name__)

MAX_REPLY = 1000


def reply_send(
    *,
    case: Case,
    actor,
    template: AnswerTemplate | None = None,
    text: str = "",
    client_action_id: str | None = None,
) -> CaseLog:
    """Send a reply: the template's words (placeholders filled) or the operator's own text."""
    text = (text or "").strip()
    if not text and template is not None:
        text = answer_render(template=template, case=case)
    if not text:
        raise ApplicationError(
            _("请选择答复模板或填写答复内容。"), fields={"text": [_("请填写答复内容。")]}
        )
    if len(text) > MAX_REPLY:
        raise ApplicationError(
            _("答复不能超过 %(n)d 个字。") % {"n": MAX_REPLY},
            fields={"text": [_("不能超过 %(n)d 个字。") % {"n": MAX_REPLY}]},
        )
    data = {"template": template.id} if template is not None else {}
    return case_services.case_note(
        case_id=case.id,
        action="reply",
        actor=actor,
        note=text,
        data=data,
        client_action_id=client_action_id,
    )


def reply_auto(*, entry_id: int) -> CaseLog | None:
    """The automatic answer to one log entry, if an active auto template covers its action."""
    entry = CaseLog.objects.select_related("case", "case__category").filter(id=entry_id).first()
    if entry is None:
        return None
    template = AnswerTemplate.objects.filter(
        action=entry.action, auto_send=True, active=True
    ).first()
    if template is None:
        return None
    return case_services.case_note(
        case_id=entry.case_id,
        action="reply",
        actor_label=_("系统"),
        note=answer_render(template=template, case=entry.case),
        data={"template": template.id, "auto": True, "for_entry": entry.id},
        client_action_id=f"auto-reply-{entry.id}",
    )


def _reply_auto_logged(entry_id: int) -> None:
    try:
        reply_auto(entry_id=entry_id)
    except Exception:  # the step itself stands; a missing courtesy reply is only logged
        log.exception("automatic reply to log entry %s failed", entry_id)


def _on_entries_written(sender, action: str, entry_ids: list[int], **kwargs) -> None:
    """New reports' first entries (written set-based, after commit): their automatic answer,
    if the "report" action has one."""
    if action == "reply" or action not in _auto_actions():
        return
    for entry_id in entry_ids:
        _reply_auto_logged(entry_id)


def _on_log_saved(sender, instance: CaseLog, created: bool, **kwargs) -> None:
    if not created or instance.action == "reply" or kwargs.get("raw"):
        return
    # Cheap test first: most steps have no automatic answer, and this runs on every entry.
    if instance.action not in _auto_actions():
        return

    transaction.on_commit(lambda: _reply_auto_logged(instance.id))


_AUTO_CACHE: dict = {"at": 0.0, "actions": frozenset()}
AUTO_CACHE_SECONDS = 10.0


def _auto_actions() -> frozenset[str]:
    """The actions that have an automatic answer, re-read every few seconds: intake writes a
    log entry per report, and one more query on each would cost the intake rate for nothing."""
    now = time.monotonic()
    if now - _AUTO_CACHE["at"] > AUTO_CACHE_SECONDS:
        _AUTO_CACHE["actions"] = frozenset(
            AnswerTemplate.objects.filter(auto_send=True, active=True)
            .exclude(action="")
            .values_list("action", flat=True)
        )
        _AUTO_CACHE["at"] = now
    return _AUTO_CACHE["actions"]


def auto_cache_clear() -> None:
    """After an admin edits the templates (and in tests)."""
    _AUTO_CACHE["at"] = 0.0


def connect() -> None:
    """Called from DispatchConfig.ready()."""
    post_save.connect(_on_log_saved, sender=CaseLog, dispatch_uid="dispatch.replies.auto")
    entries_written.connect(
        _on_entries_written, sender=CaseLog, dispatch_uid="dispatch.replies.auto_written"
    )
