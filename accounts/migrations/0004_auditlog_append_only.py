"""The audit log is append-only in the database itself (等保 2.0 §8.1.4 安全审计 c): records
are protected against deletion, modification and overwriting).

A trigger refuses every UPDATE, and a DELETE of any record younger than 180 days — the minimum
that 网络安全法 §21 requires — so the retention purge (``audit_purge``, AUDIT_RETENTION_DAYS ≥
180) works while nothing recent can be changed through the application's connection. TRUNCATE is
not blocked: the test harness empties tables with it, and a role able to TRUNCATE could drop the
trigger anyway; shipping the log off the box is what protects against a database owner.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION accounts_auditlog_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'accounts_auditlog is append-only: UPDATE of record % refused', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.at > now() - interval '180 days' THEN
        RAISE EXCEPTION 'accounts_auditlog: record % is younger than the 180-day retention and cannot be deleted', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
END
$$;

CREATE TRIGGER accounts_auditlog_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditlog
    FOR EACH ROW EXECUTE FUNCTION accounts_auditlog_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS accounts_auditlog_append_only ON accounts_auditlog;
DROP FUNCTION IF EXISTS accounts_auditlog_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_security")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
