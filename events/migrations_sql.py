"""SQL the events migrations install (kept here so old and new migrations share one text)."""

# SD-YYYYMMDD-NNNNNN: at least six digits, growing past 999,999 rather than cut (lpad truncates).
CASE_NUMBER_FUNCTION = """
CREATE OR REPLACE FUNCTION events_case_number() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE n bigint := nextval('events_case_number_seq');
BEGIN
  RETURN 'SD-' || to_char(statement_timestamp() AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-'
         || lpad(n::text, greatest(6, length(n::text)), '0');
END $$;
"""
