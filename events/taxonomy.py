"""Loading the shipped taxonomy (events/taxonomy_data.py): categories, deadline policies and the
working calendar. Idempotent: run by the data migration, by ``manage.py load_taxonomy`` and by
the tests' ``categories`` fixture (transactional tests truncate the tables, so it runs often and
must be cheap when everything is already there: three reads and nothing else).

What the loader owns and what admins own: the standard's identity of a category (kind, code,
name, English name, 大类, legacy code) is updated from the data; what a district tunes
(resident list, icon, order, grade, active, 立案/结案 conditions, deadline amounts, calendar days)
is only set when the row is created, unless ``overwrite=True``.
"""

from dataclasses import dataclass
from datetime import date

from events import taxonomy_data as data

IDENTITY_FIELDS = ("major_name", "name", "name_en", "legacy_code", "is_local_extension")
TUNABLE_FIELDS = ("default_grade", "resident_visible", "icon", "sort")


@dataclass
class LoadResult:
    categories_created: int = 0
    categories_updated: int = 0
    policies_created: int = 0
    policies_updated: int = 0
    calendar_created: int = 0
    calendar_updated: int = 0


def category_rows() -> list[dict]:
    """Every shipped category as the fields of a Category row."""
    rows = []
    for code, name, name_en, legacy in data.COMPONENTS:
        major, _major_en = data.MAJORS[("component", code[:2])]
        rows.append(
            {
                "standard_ref": data.STANDARD,
                "kind": "component",
                "code": code,
                "name": name,
                "name_en": name_en,
                "major_name": major,
                "legacy_code": legacy,
            }
        )
    # 事项 01–05: the 部件's own "异常" (standards.md §1.1).
    for code, name, name_en, _legacy in data.COMPONENTS:
        major, _major_en = data.MAJORS[("matter", code[:2])]
        rows.append(
            {
                "standard_ref": data.STANDARD,
                "kind": "matter",
                "code": code,
                "name": f"{name}异常",
                "name_en": f"{name_en} fault",
                "major_name": major,
                "legacy_code": "",
            }
        )
    for code, name, name_en in data.MATTERS:
        major, _major_en = data.MAJORS[("matter", code[:2])]
        rows.append(
            {
                "standard_ref": data.STANDARD,
                "kind": "matter",
                "code": code,
                "name": name,
                "name_en": name_en,
                "major_name": major,
                "legacy_code": "",
            }
        )
    for code, name, name_en, (major, _major_en), grade in data.LOCAL_SCENES:
        rows.append(
            {
                "standard_ref": data.LOCAL,
                "kind": "scene",
                "code": code,
                "name": name,
                "name_en": name_en,
                "major_name": major,
                "legacy_code": "",
                "default_grade": grade,
            }
        )
    for row in rows:
        key = (row["kind"], row["code"])
        row["is_local_extension"] = row["standard_ref"] == data.LOCAL
        row.setdefault("default_grade", data.STANDARD_GRADES.get(key, 3))
        sort, icon = data.RESIDENT_SHORT_LIST.get(key, (None, ""))
        row["resident_visible"] = sort is not None
        row["icon"] = icon
        row["sort"] = sort if sort is not None else 1000
    return rows


def _models(apps):
    if apps is None:
        from events.models import CalendarDay, Category, DeadlinePolicy

        return Category, DeadlinePolicy, CalendarDay
    return (
        apps.get_model("events", "Category"),
        apps.get_model("events", "DeadlinePolicy"),
        apps.get_model("events", "CalendarDay"),
    )


def taxonomy_load(*, apps=None, overwrite: bool = False) -> LoadResult:
    """Create or update the shipped categories, deadline policies and 2026 calendar.

    ``apps`` is the historical app registry when called from a migration.
    """
    from django.db import transaction

    Category, DeadlinePolicy, CalendarDay = _models(apps)
    result = LoadResult()
    with transaction.atomic():
        existing = {(c.standard_ref, c.kind, c.code): c for c in Category.objects.all()}
        to_create, to_update = [], []
        for row in category_rows():
            current = existing.get((row["standard_ref"], row["kind"], row["code"]))
            if current is None:
                to_create.append(Category(**row))
                continue
            fields = IDENTITY_FIELDS + (TUNABLE_FIELDS if overwrite else ())
            if any(getattr(current, f) != row[f] for f in fields):
                for f in fields:
                    setattr(current, f, row[f])
                to_update.append(current)
        Category.objects.bulk_create(to_create)
        if to_update:
            Category.objects.bulk_update(
                to_update, IDENTITY_FIELDS + (TUNABLE_FIELDS if overwrite else ())
            )
        result.categories_created, result.categories_updated = len(to_create), len(to_update)

        by_key = {
            (c.kind, c.code): c.id
            for c in Category.objects.filter(standard_ref__in=[data.STANDARD, data.LOCAL])
        }
        policies = {(p.category_id, p.grade, p.step): p for p in DeadlinePolicy.objects.all()}
        new_policies, changed_policies = [], []
        for key, grade, step, amount, unit in data.DEFAULT_POLICIES:
            category_id = by_key[key] if key else None
            current = policies.get((category_id, grade, step))
            if current is None:
                new_policies.append(
                    DeadlinePolicy(
                        category_id=category_id, grade=grade, step=step, amount=amount, unit=unit
                    )
                )
            elif overwrite and (current.amount, current.unit) != (amount, unit):
                current.amount, current.unit = amount, unit
                changed_policies.append(current)
        DeadlinePolicy.objects.bulk_create(new_policies)
        DeadlinePolicy.objects.bulk_update(changed_policies, ["amount", "unit"])
        result.policies_created, result.policies_updated = len(new_policies), len(changed_policies)

        days = {d.date: d for d in CalendarDay.objects.filter(date__year=2026)}
        new_days, changed_days = [], []
        for iso, is_workday, note in data.CALENDAR_2026:
            day = date.fromisoformat(iso)
            current = days.get(day)
            if current is None:
                new_days.append(CalendarDay(date=day, is_workday=is_workday, note=note))
            elif overwrite and (current.is_workday, current.note) != (is_workday, note):
                current.is_workday, current.note = is_workday, note
                changed_days.append(current)
        CalendarDay.objects.bulk_create(new_days)
        CalendarDay.objects.bulk_update(changed_days, ["is_workday", "note"])
        result.calendar_created, result.calendar_updated = len(new_days), len(changed_days)
    return result


def category_for_type(*, table: dict, type_name: str, default: tuple | None = None):
    """The category a machine source's detection or alarm type maps to, or None."""
    from events.models import Category

    key = table.get((type_name or "").strip().lower(), default)
    if key is None:
        return None
    kind, code = key
    return Category.objects.filter(kind=kind, code=code, active=True).first()
