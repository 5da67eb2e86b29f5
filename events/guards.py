"""What the foreign keys without a database constraint still get from the database.

Case.category, Case.grid and CaseLog.case are declared ``db_constraint=False``: a constraint
checks every inserted row with one lookup and a key-share row lock, 300 of them for a webhook
batch of 100 cases (each case's category and grid, its first log entry's case), which cost about
one batch in six. What a constraint gave is kept this way:

- New rows refer only to rows the writer has just read or written: the write statement of
  events.newcases finds each case's grid in the same statement and inserts each first log entry
  beside its case; a category is a checked, active Category; a transition's entry is appended
  while its case row is locked.
- Deleting a referenced row is refused here, by a BEFORE DELETE trigger on the referred-to table
  (``referenced_guard``): deleting a category or grid node any case refers to, or a case that
  has log entries, fails with foreign_key_violation (SQLSTATE 23503: IntegrityError in Django),
  as the constraint did. The trigger first takes a SHARE lock on the referring table, so it waits
  for writers in flight and sees what they committed. (A writer whose statement read the row
  before that delete committed could still refer to it; categories are never deleted (the admin
  deactivates them), nor are cases, and a grid node with cases behind it is refused.)
- Django's on_delete=PROTECT still refuses the same deletes in the ORM and the admin first, with
  its own message.
"""

GUARDS = (
    # (referred-to table, referring table, referring column)
    ("events_category", "events_case", "category_id"),
    ("grids_node", "events_case", "grid_id"),
    ("events_case", "events_caselog", "case_id"),
)

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION referenced_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  referring text := TG_ARGV[0];
  col text := TG_ARGV[1];
  found boolean;
BEGIN
  EXECUTE format('LOCK TABLE %I IN SHARE MODE', referring);
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I = $1)', referring, col)
    INTO found USING OLD.id;
  IF found THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = format('%s %s 仍被 %s 引用，不能删除 / is still referenced from %s.%s',
                       TG_TABLE_NAME, OLD.id, referring, referring, col),
      TABLE = TG_TABLE_NAME;
  END IF;
  RETURN OLD;
END $$;
"""


def _trigger(table: str) -> str:
    return f"{table}_referenced"


def install_sql() -> str:
    return FUNCTION_SQL + "".join(
        f"DROP TRIGGER IF EXISTS {_trigger(t)} ON {t};\n"
        f"CREATE TRIGGER {_trigger(t)} BEFORE DELETE ON {t} FOR EACH ROW "
        f"EXECUTE FUNCTION referenced_guard('{referring}', '{col}');\n"
        for t, referring, col in GUARDS
    )


def drop_sql() -> str:
    return (
        "".join(f"DROP TRIGGER IF EXISTS {_trigger(t)} ON {t};\n" for t, _r, _c in GUARDS)
        + "DROP FUNCTION IF EXISTS referenced_guard();\n"
    )
