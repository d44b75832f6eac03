// Objects created in the fresh database so Redshift SQL finds what it expects. They live in
// pg_catalog (allow_system_table_mods is on) so they resolve whatever the session's search_path.
import type pg from "pg";

export async function bootstrap(client: pg.Client, slices: number): Promise<void> {
  const n = Math.max(1, Math.floor(slices));
  await client.query(`
CREATE DOMAIN pg_catalog.super AS jsonb;

CREATE FUNCTION pg_catalog.json_parse(text) RETURNS pg_catalog.super
  LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT $1::jsonb::pg_catalog.super $$;

-- Redshift serializes compactly; jsonb::text puts a space after ':' and ','.
CREATE FUNCTION pg_catalog.json_serialize(pg_catalog.super) RETURNS varchar
  LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT regexp_replace($1::jsonb::text, '("(?:[^"\\\\]|\\\\.)*")|([,:]) ', '\\1\\2', 'g')::varchar $$;

CREATE FUNCTION pg_catalog.is_valid_json(text) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF $1 IS NULL THEN RETURN NULL; END IF;
  PERFORM $1::jsonb;
  RETURN true;
EXCEPTION WHEN others THEN RETURN false;
END $$;

CREATE FUNCTION pg_catalog.is_valid_json_array(text) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF $1 IS NULL THEN RETURN NULL; END IF;
  RETURN jsonb_typeof($1::jsonb) = 'array';
EXCEPTION WHEN others THEN RETURN false;
END $$;

-- The gateway rewrites pg_last_copy_count() to pass the count it keeps per session.
CREATE FUNCTION pg_catalog.pg_last_copy_count(bigint) RETURNS bigint
  LANGUAGE sql IMMUTABLE AS $$ SELECT $1 $$;

CREATE FUNCTION pg_catalog.getdate() RETURNS timestamp
  LANGUAGE sql STABLE AS $$ SELECT date_trunc('second', statement_timestamp())::timestamp $$;

-- Gateway-side errors are raised inside the backend session so its transaction state matches.
CREATE FUNCTION pg_catalog.redshift_local_raise(msg text, code text, detail text DEFAULT NULL, hint text DEFAULT NULL) RETURNS void
  LANGUAGE plpgsql AS $$
BEGIN
  IF detail IS NULL AND hint IS NULL THEN RAISE EXCEPTION USING MESSAGE = msg, ERRCODE = code;
  ELSIF hint IS NULL THEN RAISE EXCEPTION USING MESSAGE = msg, ERRCODE = code, DETAIL = detail;
  ELSE RAISE EXCEPTION USING MESSAGE = msg, ERRCODE = code, DETAIL = coalesce(detail, ''), HINT = hint;
  END IF;
END $$;

CREATE FUNCTION pg_catalog.redshift_local_count(regclass) RETURNS bigint
  LANGUAGE plpgsql STABLE AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM %s', $1) INTO n;
  RETURN n;
END $$;

CREATE VIEW pg_catalog.stv_slices AS
  SELECT (s / 2)::integer AS node, s::integer AS slice, (s % 2)::integer AS localslice, 'D'::char(1) AS type
  FROM generate_series(0, ${n - 1}) AS s;

CREATE VIEW pg_catalog.pg_table_def AS
  SELECT n.nspname AS schemaname, c.relname AS tablename, a.attname AS "column",
         format_type(a.atttypid, a.atttypmod)::varchar AS type, 'none'::char(11) AS encoding,
         false AS distkey, 0::integer AS sortkey, a.attnotnull AS notnull
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid
  WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND pg_table_is_visible(c.oid);

-- Like Redshift, empty tables are not listed.
CREATE VIEW pg_catalog.svv_table_info AS
  SELECT * FROM (
    SELECT current_database()::text AS database, n.nspname::text AS schema, c.oid::integer AS table_id,
           c.relname::text AS "table", 'N'::text AS encoded, 'AUTO(EVEN)'::text AS diststyle,
           NULL::text AS sortkey1,
           (SELECT max(a.atttypmod - 4) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.atttypid = 'varchar'::regtype AND a.attnum > 0)::integer AS max_varchar,
           greatest(1, pg_total_relation_size(c.oid) / 1048576)::bigint AS size,
           pg_catalog.redshift_local_count(c.oid::regclass)::numeric(38,0) AS tbl_rows,
           pg_catalog.redshift_local_count(c.oid::regclass)::numeric(38,0) AS estimated_visible_rows,
           0::numeric(10,4) AS pct_used, 0::numeric(5,2) AS unsorted, 0::numeric(5,2) AS stats_off, 1::numeric(19,2) AS skew_rows
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'redshift_local', 'pg_toast')
      AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
  ) t WHERE tbl_rows > 0;

CREATE SCHEMA redshift_local;
CREATE TABLE redshift_local.load_errors (
  userid integer, slice integer, tbl integer, starttime timestamp, session integer, query integer,
  filename text, line_number bigint, colname text, type text, col_length text, "position" integer,
  raw_line text, raw_field_value text, err_code integer, err_reason text, transaction_id bigint
);
CREATE VIEW pg_catalog.stl_load_errors AS
  SELECT userid, slice, tbl, starttime, session, query, filename::char(256) AS filename, line_number,
         colname::char(127) AS colname, type::char(10) AS type, col_length::char(10) AS col_length, "position",
         raw_line::char(1024) AS raw_line, raw_field_value::char(1024) AS raw_field_value, err_code,
         err_reason::char(100) AS err_reason, 0 AS is_partial, 0::bigint AS start_offset
  FROM redshift_local.load_errors;
CREATE VIEW pg_catalog.sys_load_error_detail AS
  SELECT userid AS user_id, query::bigint AS query_id, transaction_id, session::bigint AS session_id, starttime AS start_time,
         filename::char(256) AS file_name, line_number, colname::char(127) AS column_name, type::char(10) AS column_type,
         col_length::char(10) AS column_length, "position", err_code AS error_code, err_reason::char(512) AS error_message,
         raw_line::char(1024) AS raw_line, raw_field_value::char(1024) AS raw_field_value
  FROM redshift_local.load_errors;
-- Redshift keeps TIMETZ in UTC (8 bytes, no zone): '10:30:00+02' is stored and shown as 08:30:00+00.
-- PostgreSQL's timetz keeps the offset, so every table with timetz columns gets a row trigger (made by
-- the event trigger below on CREATE/ALTER TABLE) that moves them to UTC on INSERT, UPDATE, MERGE, COPY.
CREATE FUNCTION redshift_local.timetz_utc() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE c text; j jsonb := '{}';
BEGIN
  FOREACH c IN ARRAY TG_ARGV LOOP
    j := j || jsonb_build_object(c, ((to_jsonb(NEW) ->> c)::timetz AT TIME ZONE 'UTC'));
  END LOOP;
  NEW := jsonb_populate_record(NEW, j);
  RETURN NEW;
END $$;
CREATE FUNCTION redshift_local.timetz_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record; args text;
BEGIN
  FOR r IN SELECT DISTINCT objid FROM pg_event_trigger_ddl_commands() WHERE object_type IN ('table', 'table column') LOOP
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = r.objid AND relkind IN ('r', 'p'));
    SELECT string_agg(quote_literal(attname), ', ' ORDER BY attnum) INTO args FROM pg_attribute
      WHERE attrelid = r.objid AND atttypid = 'timetz'::regtype AND attnum > 0 AND NOT attisdropped;
    EXECUTE format('DROP TRIGGER IF EXISTS redshift_local_timetz_utc ON %s', r.objid::regclass);
    IF args IS NOT NULL THEN
      EXECUTE format('CREATE TRIGGER redshift_local_timetz_utc BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION redshift_local.timetz_utc(%s)', r.objid::regclass, args);
    END IF;
  END LOOP;
END $$;
CREATE EVENT TRIGGER redshift_local_timetz ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'CREATE TABLE AS', 'SELECT INTO')
  EXECUTE FUNCTION redshift_local.timetz_ddl();

-- Redshift names over PostgreSQL's 63 bytes, by the short name the gateway gives them (names.ts).
CREATE TABLE redshift_local.identifiers (pg_name name PRIMARY KEY, redshift_name varchar(127) NOT NULL UNIQUE);
GRANT USAGE ON SCHEMA redshift_local TO PUBLIC;
GRANT SELECT ON redshift_local.identifiers TO PUBLIC;
GRANT SELECT ON redshift_local.load_errors TO PUBLIC;

-- information_schema.columns: Redshift reports SUPER as data_type 'super' (PostgreSQL would say jsonb).
ALTER VIEW information_schema.columns RENAME TO columns_pg;
`);
  const cols = await client.query<{ attname: string }>(
    `SELECT attname FROM pg_attribute WHERE attrelid = 'information_schema.columns_pg'::regclass AND attnum > 0 ORDER BY attnum`,
  );
  const list = cols.rows
    .map((r) =>
      r.attname === "data_type"
        ? `CASE WHEN c.domain_name::text = 'super' THEN 'super'::information_schema.character_data ELSE c.data_type END AS data_type`
        : r.attname === "udt_name"
          ? `CASE WHEN c.domain_name::text = 'super' THEN 'super'::information_schema.sql_identifier ELSE c.udt_name END AS udt_name`
          : `c.${r.attname}`,
    )
    .join(", ");
  await client.query(`CREATE VIEW information_schema.columns AS SELECT ${list} FROM information_schema.columns_pg c;
GRANT SELECT ON information_schema.columns TO PUBLIC;`);
}
