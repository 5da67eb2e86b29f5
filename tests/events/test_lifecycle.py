"""The case lifecycle through the staff API: every legal step, illegal ones refused with 409,
role checks, the log of every step, and atomicity."""

import pytest
from django.db import DatabaseError, connection, transaction

from events import services
from events.models import Attachment, Case, CaseLog
from tests.events.conftest import IN_G1, media_files, photo


def report(categories, *, code="06010", lnglat=IN_G1, phone="13812345678", **kwargs) -> Case:
    return services.case_report(
        source="resident",
        category=categories[code],
        description="路边一堆垃圾",
        lng=lnglat[0],
        lat=lnglat[1],
        reporter=services.Reporter(phone=phone, label="市民"),
        **kwargs,
    ).case


def dispatch(case: Case, handler) -> None:
    # Dispatch belongs to the routing helper's API; its service is the one write path here.
    services.case_transition(
        case_id=case.id, action="dispatch", actor=None, updates={"handler": handler}
    )


def act(client, case, action, data=None, fmt="json"):
    return client.post(f"/api/cases/{case.id}/actions/{action}", data or {}, format=fmt)


def status_of(case) -> str:
    return Case.objects.get(id=case.id).status


def test_a_case_goes_round_the_whole_loop_and_the_log_records_every_step(town, categories, api):
    case = report(categories)
    li, wang = api(town.li), api(town.wang)

    assert act(li, case, "register", {"note": "属实"}).status_code == 200
    dispatch(case, town.wang)
    assert act(wang, case, "accept").status_code == 200
    r = act(wang, case, "arrive", {"lng": IN_G1[0] + 0.0003, "lat": IN_G1[1], "accuracy": 8})
    assert r.status_code == 200 and r.json()["warnings"] == []
    r = act(
        wang,
        case,
        "resolve",
        {"note": "已清运", "public_note": "垃圾已清运完毕", "photos": [photo("after.jpg")]},
        fmt="multipart",
    )
    assert r.status_code == 200, r.json()
    assert act(li, case, "verify").status_code == 200
    r = act(li, case, "close", {"public_note": "感谢您的反映"})
    assert r.status_code == 200 and r.json()["case"]["status"] == "closed"

    log = list(CaseLog.objects.filter(case=case).order_by("id"))
    assert [e.action for e in log] == [
        "report",
        "register",
        "dispatch",
        "accept",
        "arrive",
        "resolve",
        "verify",
        "close",
    ]
    assert [e.to_status for e in log] == [
        "reported",
        "registered",
        "dispatched",
        "accepted",
        "on_site",
        "resolved",
        "verified",
        "closed",
    ]
    by_action = {e.action: e for e in log}
    assert (
        by_action["register"].actor_id == town.li.id
        and by_action["accept"].actor_id == town.wang.id
    )
    assert by_action["arrive"].location is not None and by_action["arrive"].data["accuracy_m"] == 8
    assert all(e.at is not None for e in log)
    assert (
        Attachment.objects.filter(case=case, stage="resolve", log=by_action["resolve"]).count() == 1
    )
    closed = Case.objects.get(id=case.id)
    assert (
        closed.registered_at
        and closed.accepted_at
        and closed.arrived_at
        and closed.resolved_at
        and closed.verified_at
        and closed.closed_at
    )


def test_rework_return_park_unpark_and_reject_are_legal_where_the_table_allows_them(
    town, categories, api
):
    li, wang = api(town.li), api(town.wang)
    case = report(categories)
    act(li, case, "register")
    assert (
        act(li, case, "park", {"note": "雨季后统一整治", "until": "2027-03-01"}).status_code == 200
    )
    assert Case.objects.get(id=case.id).parked_until.isoformat() == "2027-03-01"
    assert act(li, case, "unpark").status_code == 200
    assert status_of(case) == "registered" and Case.objects.get(id=case.id).parked_until is None

    dispatch(case, town.wang)
    r = act(wang, case, "return", {"note": "不属于本网格"})
    assert r.status_code == 200 and status_of(case) == "returned"
    assert (
        Case.objects.get(id=case.id).handler_id is None
    )  # back to the centre, out of wang's inbox

    dispatch(case, town.wang)
    act(wang, case, "accept")
    act(wang, case, "resolve", {"note": "已处理", "photos": [photo()]}, fmt="multipart")
    assert act(li, case, "rework", {"note": "照片看不清"}).status_code == 200
    assert status_of(case) == "rework"
    assert act(wang, case, "arrive", {"lng": IN_G1[0], "lat": IN_G1[1]}).status_code == 200
    act(wang, case, "resolve", {"note": "重新清理", "photos": [photo()]}, fmt="multipart")
    act(li, case, "verify")
    assert (
        act(li, case, "rework", {"note": "复查又有垃圾"}).status_code == 200
    )  # verified → rework too

    other = report(categories)
    r = act(li, other, "reject", {"note": "重复上报", "public_note": "该问题已在处理"})
    assert r.status_code == 200 and status_of(other) == "rejected"


@pytest.mark.parametrize(
    ("steps", "action", "status_label"),
    [
        ([], "close", "已上报"),
        ([], "verify", "已上报"),
        (["register"], "register", "已立案"),
        (["register"], "unpark", "已立案"),
        (["register", "dispatch"], "verify", "已派遣"),
    ],
)
def test_an_illegal_step_is_refused_with_409_and_a_clear_message(
    town, categories, api, steps, action, status_label
):
    case = report(categories)
    for step in steps:
        if step == "dispatch":
            dispatch(case, town.wang)
        else:
            services.case_transition(case_id=case.id, action=step, actor=town.li)
    before = CaseLog.objects.filter(case=case).count()
    r = act(api(town.li), case, action)
    assert r.status_code == 409
    assert status_label in r.json()["message"]
    assert r.json()["fields"]["action"]
    assert CaseLog.objects.filter(case=case).count() == before


def test_the_handler_cannot_accept_before_dispatch_nor_resolve_without_photos(
    town, categories, api
):
    case = report(categories)
    act(api(town.li), case, "register")
    services.case_transition(case_id=case.id, action="dispatch", updates={"handler": town.wang})
    wang = api(town.wang)
    act(wang, case, "accept")
    r = act(wang, case, "resolve", {"note": "好了"})
    assert r.status_code == 400 and "photos" in r.json()["fields"]
    r = act(wang, case, "resolve", {"photos": [photo()]}, fmt="multipart")
    assert r.status_code == 400 and "note" in r.json()["fields"]
    assert status_of(case) == "accepted"


def test_roles_decide_who_registers_and_who_handles(town, categories, api):
    case = report(categories)
    r = act(api(town.wang), case, "register")
    assert r.status_code == 403
    act(api(town.li), case, "register")
    dispatch(case, town.wang)
    assert act(api(town.li), case, "accept").status_code == 403  # the operator is not the handler
    assert (
        act(api(town.liu), case, "accept").status_code == 404
    )  # liu works G2: cannot see G1's case
    assert (
        act(api(town.zhao), case, "accept").status_code == 404
    )  # another squad: not even its existence
    assert act(api(town.wang), case, "accept").status_code == 200
    assert (
        act(api(town.wang), case, "verify").status_code == 403
    )  # the field never verifies its own work


def test_the_detail_lists_only_the_actions_this_user_can_take(town, categories, api):
    case = report(categories)
    assert set(api(town.li).get(f"/api/cases/{case.id}/").json()["allowed_actions"]) >= {
        "register",
        "reject",
        "merge",
        "note",
    }
    assert "register" not in api(town.wang).get(f"/api/cases/{case.id}/").json()["allowed_actions"]
    act(api(town.li), case, "register")
    dispatch(case, town.wang)
    wang_actions = api(town.wang).get(f"/api/cases/{case.id}/").json()["allowed_actions"]
    assert "accept" in wang_actions and "return" in wang_actions and "close" not in wang_actions


def test_a_field_member_claims_a_case_dispatched_to_the_unit_without_a_handler(
    town, categories, api
):
    case = report(categories)
    act(api(town.li), case, "register")
    services.case_transition(case_id=case.id, action="dispatch")
    assert act(api(town.wang), case, "accept").status_code == 200
    assert Case.objects.get(id=case.id).handler_id == town.wang.id


def test_arriving_far_from_the_case_is_a_warning_not_an_error(town, categories, api):
    case = report(categories)
    act(api(town.li), case, "register")
    dispatch(case, town.wang)
    act(api(town.wang), case, "accept")
    r = act(
        api(town.wang), case, "arrive", {"lng": IN_G1[0] + 0.005, "lat": IN_G1[1]}
    )  # ≈ 480 m east
    assert r.status_code == 200
    assert "米" in r.json()["warnings"][0]
    assert status_of(case) == "on_site"
    assert CaseLog.objects.get(case=case, action="arrive").data["distance_m"] > 400
    r = act(api(town.wang), report(categories), "arrive")
    assert r.status_code == 403


def test_arriving_without_a_position_is_refused(town, categories, api):
    case = report(categories)
    act(api(town.li), case, "register")
    dispatch(case, town.wang)
    act(api(town.wang), case, "accept")
    r = act(api(town.wang), case, "arrive")
    assert r.status_code == 400 and "location" in r.json()["fields"]


def test_merging_a_duplicate_keeps_both_numbers_in_both_logs(town, categories, api):
    first, second = report(categories), report(categories)
    r = act(api(town.li), second, "merge", {"into": first.number, "note": "同一堆垃圾"})
    assert r.status_code == 200
    second.refresh_from_db()
    assert second.status == "merged" and second.merged_into_id == first.id
    assert CaseLog.objects.get(case=first, action="duplicate").data["merged"] == second.number
    r = act(api(town.li), first, "merge", {"into": first.number, "note": "x"})
    assert r.status_code == 400


def test_notes_and_replies_are_logged_without_changing_the_status(town, categories, api):
    case = report(categories)
    assert act(api(town.wang), case, "note", {"note": "已电话联系物业"}).status_code == 200
    assert act(api(town.wang), case, "note", {}).status_code == 400
    assert act(api(town.wang), case, "reply", {"note": "x"}).status_code == 403  # not the handler
    assert act(api(town.li), case, "reply", {"note": "已安排处理，请耐心等待"}).status_code == 200
    assert status_of(case) == "reported"
    assert list(CaseLog.objects.filter(case=case).values_list("action", flat=True)) == [
        "report",
        "note",
        "reply",
    ]


def test_an_extension_is_requested_by_the_handler_and_decided_by_the_centre(town, categories, api):
    case = report(categories)
    act(api(town.li), case, "register")
    dispatch(case, town.wang)
    old_due = Case.objects.get(id=case.id).resolve_due
    r = act(
        api(town.wang),
        case,
        "extension_request",
        {"new_due": "2027-06-30T17:00:00+08:00", "note": "需协调产权单位"},
    )
    assert r.status_code == 200, r.json()
    assert (
        act(
            api(town.wang),
            case,
            "extension_request",
            {"new_due": "2027-07-30T17:00:00+08:00", "note": "再延"},
        ).status_code
        == 409
    )
    assert act(api(town.wang), case, "extension_approve").status_code == 403
    assert (
        "extension_approve"
        in api(town.chen).get(f"/api/cases/{case.id}/").json()["allowed_actions"]
    )
    assert act(api(town.chen), case, "extension_approve", {"note": "同意"}).status_code == 200
    case.refresh_from_db()
    assert (
        case.resolve_due.isoformat() == "2027-06-30T09:00:00+00:00" and case.resolve_due != old_due
    )
    assert (
        act(api(town.chen), case, "extension_refuse").status_code == 409
    )  # nothing pending any more
    act(
        api(town.wang),
        case,
        "extension_request",
        {"new_due": "2027-07-30T17:00:00+08:00", "note": "还需要时间"},
    )
    assert act(api(town.li), case, "extension_refuse", {"note": "不同意"}).status_code == 200
    assert Case.objects.get(id=case.id).resolve_due == case.resolve_due


def test_the_log_refuses_update_and_delete_in_the_database(town, categories):
    case = report(categories)
    entry = CaseLog.objects.get(case=case)
    with pytest.raises(DatabaseError), transaction.atomic():
        CaseLog.objects.filter(id=entry.id).update(note="改写历史")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM events_caselog WHERE id = %s", [entry.id])
    assert CaseLog.objects.get(id=entry.id).note == "路边一堆垃圾"


def test_a_failing_photo_save_leaves_no_case_no_log_and_no_file(
    town, categories, settings, tmp_path
):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the media folder should be")
    settings.MEDIA_ROOT = str(blocker / "media")
    with pytest.raises(OSError):
        report(categories, photos=services_photos(2))
    assert (
        Case.objects.count() == 0
        and CaseLog.objects.count() == 0
        and Attachment.objects.count() == 0
    )


def test_a_photo_failing_midway_removes_the_photos_already_written(
    town, categories, media_root, monkeypatch
):
    # The second file write fails (a full disk): the first file must not stay behind.
    from django.core.files.storage import FileSystemStorage

    original = FileSystemStorage._save
    calls = []

    def flaky(self, name, content):
        calls.append(name)
        if len(calls) == 2:
            raise OSError("No space left on device")
        return original(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", flaky)
    with pytest.raises(OSError):
        report(categories, photos=services_photos(2))
    assert len(calls) == 2
    assert Case.objects.count() == 0 and Attachment.objects.count() == 0
    assert media_files(media_root) == []


def services_photos(n):
    from events.media import photos_check

    return photos_check([photo(f"p{i}.jpg") for i in range(n)])


def test_a_repeated_client_action_id_is_one_action(town, categories, api):
    case = report(categories)
    act(api(town.li), case, "register")
    dispatch(case, town.wang)
    first = act(api(town.wang), case, "accept", {"client_action_id": "phone-7-accept"})
    again = act(api(town.wang), case, "accept", {"client_action_id": "phone-7-accept"})
    assert first.status_code == again.status_code == 200
    assert first.json()["entry"]["id"] == again.json()["entry"]["id"]
    assert CaseLog.objects.filter(case=case, action="accept").count() == 1
    other = report(categories)
    assert (
        act(
            api(town.li), other, "note", {"note": "x", "client_action_id": "phone-7-accept"}
        ).status_code
        == 409
    )


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_copies_of_one_offline_action_make_one_entry(categories):
    import threading

    from tests.town import build_small_town

    town = build_small_town()
    case = report(categories)
    services.case_transition(case_id=case.id, action="register", actor=town.li)
    dispatch(case, town.wang)
    results, barrier = [], threading.Barrier(2)

    def accept():
        from django.db import connection as conn

        try:
            barrier.wait()
            entry = services.case_transition(
                case_id=case.id, action="accept", actor=town.wang, client_action_id="offline-42"
            )
            results.append(entry.id)
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            results.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=accept) for _ in range(2)]
    [t.start() for t in threads]
    [t.join(10) for t in threads]
    assert len(results) == 2 and all(isinstance(r, int) for r in results), results
    assert results[0] == results[1]
    assert CaseLog.objects.filter(case=case, action="accept").count() == 1
