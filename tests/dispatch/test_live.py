"""The live push over real websockets against the real daphne server: who gets what, catching
up after a reconnect, and the reporter's reduced feed."""

import pytest
from django.db import transaction
from django.utils import timezone
from websockets.exceptions import InvalidStatus

from events import services
from events.models import Case, Category
from tests.e2e.clients import drain, handshake, login, recv_until, taxonomy, ws_connect
from tests.town import centre

pytestmark = pytest.mark.django_db(transaction=True)

IN_G1 = centre(0, 0)
IN_G3 = centre(0, 1)
RESIDENT_PHONE = "13912345678"


def report(point, description="路面有垃圾堆积", phone="") -> Case:
    taxonomy()
    category = (
        Category.objects.get(code="06010", kind="component")
        if Category.objects.filter(code="06010", kind="component").exists()
        else Category.objects.filter(code="06010").first()
    )
    # These tests watch the push, not routing: the case is marked routed in the transaction that
    # writes it, so the session's Celery worker (started by another test) leaves it alone.
    with transaction.atomic():
        result = services.case_report(
            source=Case.Source.RESIDENT,
            category=category,
            description=description,
            lng=point[0],
            lat=point[1],
            reporter=services.Reporter(phone=phone, name="张三", label="市民"),
        )
        Case.objects.filter(id=result.case.id).update(routed_at=timezone.now())
    return result.case


def updates(messages, case_id=None):
    return [
        m
        for m in messages
        if m["type"] == "case.updated" and (case_id is None or m["case"]["id"] == case_id)
    ]


def test_an_anonymous_socket_is_refused(live_server_url, live_town):
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(live_server_url, "/ws/live/")
    assert refused.value.response.status_code == 403


def test_a_grid_worker_gets_his_grids_cases_and_not_another_grids(live_server_url, live_town):
    wang = login(live_server_url, "wang")
    with ws_connect(live_server_url, "/ws/live/", wang) as ws:
        hello, caught_up = handshake(ws)
        assert hello["last_seq"] >= 0 and caught_up == []  # no ?after: nothing to catch up
        other = report(IN_G3, "B-01 的垃圾")  # zhao's grid, pushed first
        mine = report(IN_G1, "A-01 的垃圾")
        got, before = recv_until(ws, lambda m: m["type"] == "case.updated")
        assert got["case"]["id"] == mine.id and got["entry"]["action"] == "report"
        assert got["case"]["grid_id"] == live_town.g1.id
        later = drain(ws, quiet=1.0)
        assert [m["case"]["id"] for m in updates(before + later)] == []
        assert other.id not in [m["case"]["id"] for m in updates([got, *later])]


def test_a_case_handed_to_a_worker_reaches_him_once_though_two_groups_carry_it(
    live_server_url, live_town
):
    case = report(IN_G1)
    wang = login(live_server_url, "wang")
    with ws_connect(live_server_url, "/ws/live/", wang) as ws:
        handshake(ws)
        services.case_transition(case_id=case.id, action="register", actor=live_town.li)
        entry = services.case_transition(
            case_id=case.id,
            action="dispatch",
            actor=live_town.li,
            updates={"handler": live_town.wang},
        )
        got, _ = recv_until(ws, lambda m: m.get("seq") == entry.id)
        assert got["case"]["handler_id"] == live_town.wang.id
        # dispatch.node.<G1> and dispatch.staff.<wang> both carry it; he sees it once.
        assert [m for m in drain(ws, quiet=1.0) if m.get("seq") == entry.id] == []


def test_one_transactions_entries_arrive_in_order_and_a_rolled_back_one_never(
    live_server_url, live_town
):
    """Entries written in one transaction are read back and pushed together after commit; an
    entry whose savepoint rolled back was never written, so nobody is told of it."""
    case = report(IN_G1)
    li = login(live_server_url, "li")
    with ws_connect(live_server_url, "/ws/live/", li) as ws:
        handshake(ws)

        def undone(note):
            try:
                with transaction.atomic():
                    services.case_note(case_id=case.id, action="reply", note=note)
                    raise RuntimeError("undo")
            except RuntimeError:
                pass

        with transaction.atomic():
            undone("撤回的答复一")  # the transaction's first entry, and its push, roll back
            register = services.case_transition(
                case_id=case.id, action="register", actor=live_town.li
            )
            undone("撤回的答复二")  # joins register's push, but is not there to be read back
            dispatch = services.case_transition(
                case_id=case.id,
                action="dispatch",
                actor=live_town.li,
                updates={"handler": live_town.wang},
            )
            # nothing is pushed before commit
            assert updates(drain(ws, quiet=0.5), case.id) == []
        got, before = recv_until(ws, lambda m: m.get("seq") == dispatch.id)
        pushed = [*updates(before, case.id), got, *updates(drain(ws, quiet=1.0), case.id)]
        assert [m["entry"]["action"] for m in pushed] == ["register", "dispatch"]
        assert [m["seq"] for m in pushed] == [register.id, dispatch.id]
        assert pushed[1]["case"]["handler_id"] == live_town.wang.id
        assert pushed[0]["case"]["status"] == "dispatched"  # read back after commit
        assert "撤回的答复" not in str(pushed)
        assert not case.log.filter(action="reply").exists()


def test_a_reconnecting_client_gets_exactly_the_entries_it_missed_in_order(
    live_server_url, live_town
):
    li = login(live_server_url, "li")
    with ws_connect(live_server_url, "/ws/live/", li) as ws:
        hello, _ = handshake(ws)
        first = report(IN_G1)
        seen, _ = recv_until(ws, lambda m: m["type"] == "case.updated")
    last = seen["seq"]
    # While the operator is away: a new report, and the first case registered and dispatched.
    second = report(IN_G3, "另一处垃圾")
    services.case_transition(case_id=first.id, action="register", actor=live_town.li)
    services.case_transition(
        case_id=first.id, action="dispatch", actor=live_town.li, updates={"handler": live_town.wang}
    )
    missed = list(first.log.filter(id__gt=last).values_list("id", flat=True)) + list(
        second.log.values_list("id", flat=True)
    )
    with ws_connect(live_server_url, f"/ws/live/?after={last}", li) as ws:
        hello, caught_up = handshake(ws)
        assert hello["last_seq"] >= max(missed)
        assert [m["seq"] for m in caught_up] == sorted(missed)
        assert [m["entry"]["action"] for m in caught_up if m["case"]["id"] == first.id] == [
            "register",
            "dispatch",
        ]
        # then live again, with nothing repeated
        services.case_transition(case_id=first.id, action="accept", actor=live_town.wang)
        got, between = recv_until(ws, lambda m: m["type"] == "case.updated")
        assert got["entry"]["action"] == "accept" and between == []


def test_a_grid_worker_catching_up_sees_only_his_grids_entries(live_server_url, live_town):
    wang = login(live_server_url, "wang")
    with ws_connect(live_server_url, "/ws/live/", wang) as ws:
        hello, _ = handshake(ws)
    mine, other = report(IN_G1), report(IN_G3)
    with ws_connect(live_server_url, f"/ws/live/?after={hello['last_seq']}", wang) as ws:
        _hello, caught_up = handshake(ws)
    assert {m["case"]["id"] for m in caught_up} == {mine.id}
    assert other.id not in {m["case"]["id"] for m in caught_up}


def test_a_case_socket_is_refused_outside_the_users_scope(live_server_url, live_town):
    case = report(IN_G3)
    wang = login(live_server_url, "wang")
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(live_server_url, f"/ws/case/{case.id}/", wang)
    assert refused.value.response.status_code == 403
    zhao = login(live_server_url, "zhao")
    with ws_connect(live_server_url, f"/ws/case/{case.id}/?after=0", zhao) as ws:
        _hello, caught_up = handshake(ws)
        assert [m["entry"]["action"] for m in caught_up] == ["report"]


def test_the_reporter_socket_gets_a_reduced_payload_without_names_or_phones(
    live_server_url, live_town
):
    case = report(IN_G1, "小区门口垃圾没人清", phone=RESIDENT_PHONE)
    with ws_connect(live_server_url, f"/ws/track/{case.tracking_token}/") as ws:
        _hello, caught_up = handshake(ws)
        assert [m["status"] for m in caught_up] == ["reported"]
        services.case_transition(
            case_id=case.id,
            action="register",
            actor=live_town.li,
            note="内部备注：联系张三 13912345678",
        )
        services.case_note(
            case_id=case.id, action="note", actor=live_town.li, note="内部：李坐席跟进"
        )
        services.case_transition(
            case_id=case.id,
            action="dispatch",
            actor=live_town.li,
            updates={"handler": live_town.wang},
            note="派王网格",
        )
        services.case_note(
            case_id=case.id, action="reply", actor=live_town.li, note="您好，已安排网格员处理。"
        )
        received = [*caught_up, *drain(ws, quiet=1.5)]
    keys = {"type", "seq", "status", "status_label", "action", "action_label", "at", "public_note"}
    assert all(set(m) == keys for m in received), received
    assert [m["status"] for m in received] == ["reported", "registered", "dispatched", "dispatched"]
    assert received[-1]["public_note"] == "您好，已安排网格员处理。"
    raw = repr(received)
    for secret in (RESIDENT_PHONE, "张三", "李坐席", "王网格", "内部", "派王网格"):
        assert secret not in raw


def test_a_wrong_tracking_token_is_refused(live_server_url, live_town):
    with pytest.raises(InvalidStatus):
        ws_connect(live_server_url, "/ws/track/" + "x" * 43 + "/")
