"""New cases, written set-based: one report from a resident and five hundred from a webhook take
the same statement.

Python checks each report into a row of plain values (``NewCase.values``: no model instance,
no geometry object, no query). One SQL statement then takes all the rows as a JSON array and
- makes each point and finds its grid (the partial GiST index on grid boundaries, the same
  probe and tie-break as grids.selectors.grid_locate) or, outside every grid, whether the town
  covers it (the rule of grids.selectors.town_contains; else the case is flagged "outside
  jurisdiction", never dropped);
- numbers the cases (the column's default, events.migrations_sql) and inserts them;
- appends each case's first log entry, with the grid's code in its data;
and answers, per row in input order: id, number, entry id, grid id, path, code and name, outside.
Any column this module does not set takes the model field's default, so a field added to Case
or CaseLog is written without a change here.

Server-side prepared (cockpit.prepared): PREPAREd once per database connection, so each report
pays for executing it, not for parsing and planning a five-table statement again.
"""

import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection

from cockpit.prepared import prepared_execute
from events.models import Case, CaseLog, Category
from grids.models import Node

# Per-row columns of the case, sent in the JSON rows (everything else is computed in SQL or a
# constant of the batch).
CASE_ROW = (
    "source",
    "external_id",
    "category_id",
    "grade",
    "title",
    "description",
    "src_crs",
    "address",
    "reporter_user_id",
    "reporter_name",
    "reporter_phone_enc",
    "reporter_phone_index",
    "tracking_token",
    "register_due",
    "accept_due",
    "arrive_due",
    "resolve_due",
    "extra",
)
ENTRY_ROW = ("actor_label", "note", "client_action_id")

_case_fields = {f.attname: f for f in Case._meta.concrete_fields}
_entry_fields = {f.attname: f for f in CaseLog._meta.concrete_fields}
_q = connection.ops.quote_name


def _db_type(f) -> str:
    return f.db_type(connection) or f.rel_db_type(connection)


# Case columns the statement computes; the rest of the non-row columns are constants.
_CASE_SQL = {
    "id": "l.id",
    "location": "l.pt",
    "grid_id": "l.grid_id",
    "node_path": "coalesce(l.grid_path, $3)",
    "outside_jurisdiction": "l.outside",
    "reported_at": "$2",
}
_ENTRY_SQL = {
    "id": "l.entry_id",
    "case_id": "l.id",
    "at": "$2",
    "actor_id": "l.reporter_user_id",
    "location": "l.pt",
    "data": (
        "jsonb_build_object('source', l.source, 'outside_jurisdiction', l.outside,"
        " 'grid', l.grid_code)"
    ),
}
_ENTRY_CONSTANTS = {"action": "report", "from_status": "", "to_status": Case.Status.REPORTED}
_CASE_CONSTANT = [
    a for a in _case_fields if a not in _CASE_SQL and a not in CASE_ROW and a != "number"
]
_ENTRY_CONSTANT = [a for a in _entry_fields if a not in _ENTRY_SQL and a not in ENTRY_ROW]


def _column_list(fields: dict, names) -> str:
    return ", ".join(_q(fields[a].column) for a in names)


# The statement's parameters, in order: $1 the rows (JSON), $2 now, $3 the town's path, $4 the
# storage SRID, then one per constant column.
_PARAM_TYPES = (
    ["json", "timestamptz", "text", "integer"]
    + [_db_type(_case_fields[a]) for a in _CASE_CONSTANT]
    + [_db_type(_entry_fields[a]) for a in _ENTRY_CONSTANT]
)
_CONSTANT_PARAM = {
    **{("c", a): 5 + i for i, a in enumerate(_CASE_CONSTANT)},
    **{("e", a): 5 + len(_CASE_CONSTANT) + i for i, a in enumerate(_ENTRY_CONSTANT)},
}


def _statement(case_sequence: str, entry_sequence: str, number_default: str) -> str:
    """The write, with $n parameters (see _PARAM_TYPES). The ids of cases and entries and the
    case numbers (``number_default``: the column's own default) are drawn in the first step, so
    the inserts need no RETURNING and the answer no join back to them."""
    grid_kind, town_kind = Node.Kind.GRID.value, Node.Kind.TOWN.value
    case_columns = list(_case_fields)
    entry_columns = list(_entry_fields)

    def case_expr(a: str) -> str:
        if a in _CASE_SQL:
            return _CASE_SQL[a]
        if a in CASE_ROW or a == "number":
            return f"l.{_q(a)}"
        return f"${_CONSTANT_PARAM[('c', a)]}::{_db_type(_case_fields[a])}"

    def entry_expr(a: str) -> str:
        if a in _ENTRY_SQL:
            return _ENTRY_SQL[a]
        if a in ENTRY_ROW:
            return f"l.{_q(a)}"
        return f"${_CONSTANT_PARAM[('e', a)]}::{_db_type(_entry_fields[a])}"

    def literal(name: str) -> str:
        return "'" + name.replace("'", "''") + "'"

    record = ", ".join(
        ["ord int", "lng float8", "lat float8"]
        + [f"{_q(a)} {_db_type(_case_fields[a])}" for a in CASE_ROW]
        + [f"{_q(a)} {_db_type(_entry_fields[a])}" for a in ENTRY_ROW]
    )
    node = _q(Node._meta.db_table)
    return f"""
WITH i AS MATERIALIZED (
  SELECT x.*, nextval({literal(case_sequence)}::regclass) AS id,
         nextval({literal(entry_sequence)}::regclass) AS entry_id,
         {number_default} AS number,
         CASE WHEN x.lng IS NULL OR x.lat IS NULL THEN NULL
              ELSE ST_SetSRID(ST_MakePoint(x.lng, x.lat), $4) END AS pt
  FROM json_to_recordset($1) AS x({record})
), l AS MATERIALIZED (
  SELECT i.*, g.id AS grid_id, g.path AS grid_path, g.code AS grid_code, g.name AS grid_name,
         CASE WHEN i.pt IS NULL OR g.id IS NOT NULL THEN false
              ELSE NOT EXISTS (SELECT 1 FROM {node} t WHERE t.kind = '{town_kind}'
                               AND ST_Covers(t.boundary, i.pt)) END AS outside
  FROM i LEFT JOIN LATERAL (
    SELECT n.id, n.path, n.code, n.name FROM {node} n
    WHERE n.kind = '{grid_kind}' AND ST_Covers(n.boundary, i.pt)
    ORDER BY n.code LIMIT 1) g ON true
), c AS (
  INSERT INTO {_q(Case._meta.db_table)} ({_column_list(_case_fields, case_columns)})
  SELECT {", ".join(case_expr(a) for a in case_columns)} FROM l
), e AS (
  INSERT INTO {_q(CaseLog._meta.db_table)} ({_column_list(_entry_fields, entry_columns)})
  SELECT {", ".join(entry_expr(a) for a in entry_columns)} FROM l
)
SELECT l.ord, l.id, l.number, l.entry_id, l.grid_id, l.grid_path, l.grid_code, l.grid_name,
       l.outside
FROM l"""


STATEMENT = "events_newcases_write"


@dataclass(slots=True)
class NewCase:
    """One checked report, ready to write, and what the write gave it."""

    values: dict  # CASE_ROW and ENTRY_ROW columns, JSON-ready
    lng: float | None  # stored coordinates (settings.STORAGE_SRID)
    lat: float | None
    category: Category
    reported_at: datetime | None = None
    id: int | None = None
    number: str = ""
    entry_id: int | None = None
    grid_id: int | None = None
    grid_path: str | None = None
    grid_code: str | None = None
    grid_name: str | None = None
    outside: bool = False
    node_path: str = ""


def tracking_token() -> str:
    return secrets.token_urlsafe(32)


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # a lazy translation (a source's label)


_SEQUENCE_SQL = "SELECT pg_get_serial_sequence(%s, 'id')"
_DEFAULT_SQL = (
    "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a"
    " ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = %s::regclass"
    " AND a.attname = %s"
)


def _statement_text(cursor) -> str:
    """The statement for this database: its sequences and the number column's default."""
    found = []
    for model in (Case, CaseLog):
        cursor.execute(_SEQUENCE_SQL, [_q(model._meta.db_table)])
        found.append(cursor.fetchone()[0])
    cursor.execute(_DEFAULT_SQL, [_q(Case._meta.db_table), _case_fields["number"].column])
    return _statement(*found, cursor.fetchone()[0])


def _constants_build() -> tuple[list, list[int]]:
    """The values of the constant columns ($5 on) as the ORM would send them, once per process;
    and the positions of the auto_now ones (now, per write)."""
    values, now_at = [], []
    for prefix, fields, names in (
        ("c", _case_fields, _CASE_CONSTANT),
        ("e", _entry_fields, _ENTRY_CONSTANT),
    ):
        for a in names:
            f = fields[a]
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                now_at.append(len(values))
                values.append(None)
                continue
            value = (
                _ENTRY_CONSTANTS[a] if prefix == "e" and a in _ENTRY_CONSTANTS else f.get_default()
            )
            values.append(f.get_db_prep_save(value, connection))
    return values, now_at


_constant_values: tuple[list, list[int]] | None = None


def _constants(now: datetime) -> list:
    global _constant_values
    if _constant_values is None:
        _constant_values = _constants_build()
    values, now_at = _constant_values
    values = list(values)
    for i in now_at:
        values[i] = now
    return values


def cases_write(rows: list[NewCase], *, now: datetime, town_path: str) -> None:
    """Insert the cases and their first log entries in one statement, in the caller's
    transaction (or as its own, in autocommit); fills in each row's id, number, entry id and
    place. Raises IntegrityError when an external id or client_action_id is taken meanwhile."""
    payload = []
    for i, row in enumerate(rows):
        d = dict(row.values)
        d["ord"], d["lng"], d["lat"] = i, row.lng, row.lat
        payload.append(d)
    params = [
        json.dumps(payload, default=_json_default, ensure_ascii=False),
        now,
        town_path,
        settings.STORAGE_SRID,
        *_constants(now),
    ]
    with connection.cursor() as cursor:
        prepared_execute(cursor, STATEMENT, params, types=_PARAM_TYPES, sql=_statement_text)
        answered = cursor.fetchall()
    for ord_, case_id, number, entry_id, *place, outside in answered:
        row = rows[ord_]
        row.id, row.number, row.entry_id, row.outside = case_id, number, entry_id, outside
        row.grid_id, row.grid_path, row.grid_code, row.grid_name = place
        row.node_path = row.grid_path or town_path
        row.reported_at = now
