#include "producer/ddl_guard.h"

#include <cstdio>

namespace cdc::producer {
namespace {

// The capture trigger's pg_trigger.tgargs: each argument followed by a NUL byte, written as hex
// so the function text holds no backslash (its meaning would depend on
// standard_conforming_strings).
std::string MarkerHex() {
  std::string hex;
  char byte[3];
  for (unsigned char c : kCaptureTriggerArgument) {
    std::snprintf(byte, sizeof byte, "%02x", c);
    hex += byte;
  }
  return hex + "00";
}

// The guard's own schema, owned by the superuser that installs it and closed to everyone else:
// its functions run with that superuser's rights, so no other role may replace what they call.
constexpr const char* kGuardSchema = "cdc_ddl_guard";

// $1 the marker's hex.
//
// The capture triggers: a trigger carrying the marker whose function's owner also owns the
// function's namesake change table (its name less "_FN", in its schema) - a role that owns
// neither cannot make another's table look captured. ct is null when that table is gone.
constexpr const char* kCapturesFunction = R"(CREATE OR REPLACE FUNCTION cdc_ddl_guard.captures()
RETURNS TABLE (base oid, fn oid, ct oid, ct_name text) LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $cdc$
  SELECT t.tgrelid, p.oid, ct.oid, quote_ident(n.nspname) || '.' || quote_ident(left(p.proname, -3))
    FROM pg_trigger t
    JOIN pg_proc p ON p.oid = t.tgfoid
    JOIN pg_namespace n ON n.oid = p.pronamespace
    LEFT JOIN pg_class ct ON ct.relnamespace = p.pronamespace AND ct.relname = left(p.proname, -3)
                         AND ct.relowner = p.proowner
   WHERE t.tgargs = decode('$1', 'hex')
$cdc$)";

// What each captured table's trigger uses, as one JSON object per table: its change table
// ("ct"), the trigger function ("fn": name, schema, owner, rights, settings, body), the table's
// columns ("cols", attnum -> [name, type oid, typmod]: those the function names as ddl writes
// them - NEW."c" in a VALUES list - so a column of the name of one the change table keeps from
// before is not one; every one with all_columns), the change table's columns ("ctcols"), what the
// change table is a partition or child of ("parents") and whether the function's owner may
// still write it ("rights"). Type oids, not names: renaming a type or a schema changes nothing.
constexpr const char* kFactsFunction =
    R"(CREATE OR REPLACE FUNCTION cdc_ddl_guard.facts(all_columns boolean)
RETURNS jsonb LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET temp_file_limit = -1 AS $cdc$
  SELECT coalesce(jsonb_object_agg(c.base, jsonb_build_object(
           'ct', coalesce(c.ct_name || CASE WHEN c.ct IS NULL THEN ' (gone)' ELSE '' END, ''),
           'fn', concat_ws(' ', p.proname, p.pronamespace, p.proowner, p.prosecdef,
                           p.proconfig::text, md5(p.prosrc)),
           'cols', (SELECT coalesce(jsonb_object_agg(a.attnum, jsonb_build_array(a.attname, a.atttypid, a.atttypmod)), '{}')
                      FROM pg_attribute a
                     WHERE a.attrelid = c.base AND a.attnum > 0 AND NOT a.attisdropped
                       AND (all_columns
                            OR strpos(p.prosrc, 'NEW."' || replace(a.attname, '"', '""') || '",') > 0
                            OR strpos(p.prosrc, 'NEW."' || replace(a.attname, '"', '""') || '")') > 0)),
           'ctcols', (SELECT coalesce(jsonb_object_agg(a.attnum, jsonb_build_array(a.attname, a.atttypid, a.atttypmod)), '{}')
                        FROM pg_attribute a
                       WHERE a.attrelid = c.ct AND a.attnum > 0 AND NOT a.attisdropped),
           'parents', (SELECT string_agg(i.inhparent::text, ',') FROM pg_inherits i
                        WHERE i.inhrelid = c.ct),
           'rights', c.ct IS NOT NULL
                     AND has_table_privilege(p.proowner, c.ct, 'INSERT')
                     AND has_schema_privilege(p.proowner, p.pronamespace, 'USAGE'))), '{}')
    FROM cdc_ddl_guard.captures() c
    JOIN pg_proc p ON p.oid = c.fn
$cdc$)";

// One function for the three events, dispatching on TG_EVENT.
// - ddl_command_start of a statement that can change what a trigger uses (kFactTags): the
//   facts, pushed on a stack kept for the transaction (DDL run inside a statement - by a
//   function it calls, another event trigger - nests its own start and end).
// - ddl_command_end: for those, the facts popped and compared with now, table by table
//   (captured tables still captured): a column dropped, renamed or retyped (also through a
//   parent table, a composite type or a schema), the change table gone or moved, made a
//   partition, its columns changed, the function's owner's rights on it taken, the function
//   changed. For every guarded statement: one that works on a change table, its sequence,
//   indexes, rules, constraints or triggers, on a trigger function, or makes a capture trigger
//   (ddl makes them) is refused - the change tables belong to `ddl`.
// - sql_drop (any DROP, CASCADE included): a dropped column of a captured table that its trigger
//   function names, or of a change table, fails it.
// SET [LOCAL] cdc.ddl_guard = off lets a statement through (ddl does so for its own; a
// superuser's database or role default of it turns the guard off, and `check` says so). A guard
// that cannot check a statement refuses it (its own memory settings keep it off temp files).
constexpr const char* kGuardFunction = R"(CREATE OR REPLACE FUNCTION cdc_ddl_guard.guard()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET temp_file_limit = -1 AS $cdc$
DECLARE
  stack jsonb;
  before jsonb;
  now jsonb;
  problems text;
  fact_tags text[] := ARRAY[$2];
BEGIN
  IF lower(current_setting('cdc.ddl_guard', true)) IN ('off', 'false') THEN
    RETURN;
  END IF;
  BEGIN
    stack := coalesce(nullif(current_setting('cdc.capture_facts', true), ''), '[]')::jsonb;
    IF jsonb_typeof(stack) <> 'array' THEN
      stack := '[]';
    END IF;
  EXCEPTION WHEN OTHERS THEN
    stack := '[]';
  END;
  BEGIN
    IF TG_EVENT = 'ddl_command_start' THEN
      PERFORM set_config('cdc.capture_facts',
                         (stack || jsonb_build_array(cdc_ddl_guard.facts(false)))::text, true);
      RETURN;
    ELSIF TG_EVENT = 'ddl_command_end' THEN
      IF TG_TAG = ANY (fact_tags) AND jsonb_array_length(stack) > 0 THEN
        before := stack->-1;
        PERFORM set_config('cdc.capture_facts', (stack - (-1))::text, true);
        now := cdc_ddl_guard.facts(false);
        -- Nothing a captured table's trigger uses changed (the common case): done.
        IF EXISTS (SELECT 1 FROM jsonb_each(before) b
                    WHERE now ? b.key AND now->b.key IS DISTINCT FROM b.value) THEN
        now := cdc_ddl_guard.facts(true);
        SELECT string_agg(p, '; ') INTO problems FROM (
          SELECT format('change table %s: now %s', b.value->>'ct',
                        coalesce(nullif(n.value->>'ct', ''), 'gone')) AS p
            FROM jsonb_each(before) b JOIN jsonb_each(now) n ON n.key = b.key
           WHERE n.value->>'ct' IS DISTINCT FROM b.value->>'ct'
          UNION ALL
          SELECT format('%s of change table %s', CASE
                   WHEN n.value->'ctcols' IS DISTINCT FROM b.value->'ctcols' THEN 'the columns'
                   WHEN n.value->>'parents' IS DISTINCT FROM b.value->>'parents' THEN 'the parent table'
                   WHEN n.value->>'fn' IS DISTINCT FROM b.value->>'fn' THEN 'the trigger function'
                   ELSE 'the trigger function owner''s rights on' END, b.value->>'ct')
            FROM jsonb_each(before) b JOIN jsonb_each(now) n ON n.key = b.key
           WHERE n.value->>'ct' = b.value->>'ct'
             AND (n.value->'ctcols' IS DISTINCT FROM b.value->'ctcols'
               OR n.value->>'parents' IS DISTINCT FROM b.value->>'parents'
               OR n.value->>'fn' IS DISTINCT FROM b.value->>'fn'
               OR n.value->'rights' IS DISTINCT FROM b.value->'rights')
          UNION ALL
          SELECT CASE
                   WHEN nc.value IS NULL
                     THEN format('drops column %I of %s', wc.value->>0, b.key::oid::regclass)
                   WHEN nc.value->>0 <> wc.value->>0
                     THEN format('renames column %I of %s to %I', wc.value->>0,
                                 b.key::oid::regclass, nc.value->>0)
                   ELSE format('changes column %I of %s from %s to %s', wc.value->>0,
                               b.key::oid::regclass,
                               format_type((wc.value->>1)::oid, (wc.value->>2)::int),
                               format_type((nc.value->>1)::oid, (nc.value->>2)::int))
                 END
            FROM jsonb_each(before) b
            JOIN jsonb_each(now) n ON n.key = b.key
            CROSS JOIN LATERAL jsonb_each(b.value->'cols') wc
            LEFT JOIN LATERAL jsonb_each(n.value->'cols') nc ON nc.key = wc.key
           WHERE nc.value IS DISTINCT FROM wc.value) x;
        END IF;
      END IF;
      IF problems IS NULL THEN
        SELECT string_agg(DISTINCT r.what, '; ') INTO problems FROM (
          SELECT CASE
                   WHEN c.classid = 'pg_proc'::regclass AND c.objid IN (SELECT fn FROM cdc_ddl_guard.captures())
                     THEN format('changes trigger function %s', c.objid::regprocedure)
                   WHEN c.classid = 'pg_trigger'::regclass AND EXISTS (
                          SELECT 1 FROM pg_trigger t
                            JOIN pg_proc p ON p.oid = t.tgfoid
                            JOIN pg_class ct ON ct.relnamespace = p.pronamespace
                                            AND ct.relname = left(p.proname, -3)
                                            AND ct.relowner = p.proowner
                           WHERE t.oid = c.objid)
                     THEN 'makes or replaces a capture trigger (cdc-producer ddl --apply makes them)'
                   WHEN (CASE
                           WHEN c.classid = 'pg_class'::regclass THEN coalesce(
                             (SELECT i.indrelid FROM pg_index i WHERE i.indexrelid = c.objid),
                             (SELECT d.refobjid FROM pg_depend d
                               WHERE d.classid = 'pg_class'::regclass AND d.objid = c.objid
                                 AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
                                 AND d.deptype IN ('a', 'i') LIMIT 1),
                             c.objid)
                           WHEN c.classid = 'pg_trigger'::regclass
                             THEN (SELECT t.tgrelid FROM pg_trigger t WHERE t.oid = c.objid)
                           WHEN c.classid = 'pg_rewrite'::regclass
                             THEN (SELECT w.ev_class FROM pg_rewrite w WHERE w.oid = c.objid)
                           WHEN c.classid = 'pg_constraint'::regclass
                             THEN (SELECT k.conrelid FROM pg_constraint k WHERE k.oid = c.objid)
                         END) IN (SELECT ct FROM cdc_ddl_guard.captures() WHERE ct IS NOT NULL)
                     THEN 'works on a change table (cdc-producer ddl --apply changes them)'
                 END AS what
            FROM pg_event_trigger_ddl_commands() c) r;
      END IF;
    ELSE
      SELECT string_agg(format('drops %s %s', d.object_type, d.object_identity), '; ')
        INTO problems
        FROM pg_event_trigger_dropped_objects() d
       WHERE d.object_type = 'table column'
         AND EXISTS (
           SELECT 1 FROM cdc_ddl_guard.captures() c
            WHERE c.ct = d.objid
               OR (c.base = d.objid AND EXISTS (
                     SELECT 1 FROM pg_proc p WHERE p.oid = c.fn
                        AND (strpos(p.prosrc, 'NEW."' || replace(d.address_names[3], '"', '""') || '",') > 0
                          OR strpos(p.prosrc, 'NEW."' || replace(d.address_names[3], '"', '""') || '")') > 0))));
    END IF;
  EXCEPTION WHEN OTHERS THEN
    -- Unchecked, a statement could break the application's writes: refuse it, saying why and
    -- how to let it through.
    RAISE EXCEPTION 'cdc: the DDL guard could not check this statement: %', SQLERRM
      USING ERRCODE = 'dependent_objects_still_exist',
            HINT = 'If it does not change a captured table, its change table or trigger function, run it with SET LOCAL cdc.ddl_guard = off in its transaction.';
  END;
  IF problems IS NOT NULL THEN
    RAISE EXCEPTION 'cdc: this statement changes what a capture trigger uses, which would make it refuse the application''s writes: %', problems
      USING ERRCODE = 'dependent_objects_still_exist',
            HINT = 'Run it as: cdc-producer ddl --apply --table <the table> --alter "<statement>" (it alters the table, its change table and trigger together). '
                   'To let it through anyway: SET LOCAL cdc.ddl_guard = off in its transaction, then run cdc-producer ddl --apply at once; writes to the table fail until then.';
  END IF;
END
$cdc$)";

// The statements that can change what a trigger uses (compared before and after), and those
// only checked for the objects they work on.
constexpr const char* kFactTags =
    "'ALTER TABLE', 'ALTER VIEW', 'ALTER MATERIALIZED VIEW', 'ALTER FOREIGN TABLE', "
    "'ALTER TYPE', 'ALTER SCHEMA', 'DROP TABLE', 'DROP SCHEMA', 'DROP OWNED', "
    "'GRANT', 'REVOKE'";
constexpr const char* kObjectTags =
    "'ALTER SEQUENCE', 'ALTER FUNCTION', 'CREATE FUNCTION', 'CREATE TRIGGER', 'CREATE RULE', "
    "'CREATE INDEX', 'ALTER INDEX'";

// `text` with "$1" replaced by the marker's hex and "$2" by the fact tags.
std::string Fill(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && (text[i + 1] == '1' || text[i + 1] == '2')) {
      out += text[i + 1] == '1' ? MarkerHex() : std::string(kFactTags);
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

std::vector<DdlStatement> PostgresDdlGuard() {
  const std::string name(kDdlGuardName);
  const std::string schema(kGuardSchema);
  std::vector<DdlStatement> out = {
      {"CREATE SCHEMA IF NOT EXISTS " + schema},
      // Its functions run as a superuser: a schema another role owns could replace them.
      {"DO $cdc$ BEGIN IF (SELECT NOT r.rolsuper FROM pg_catalog.pg_namespace n JOIN "
       "pg_catalog.pg_roles r ON r.oid = n.nspowner WHERE n.nspname = '" +
       schema + "') THEN RAISE EXCEPTION 'schema " + schema +
       " belongs to a role that is not a superuser: drop it or give it to one'; END IF; END "
       "$cdc$"},
      {"REVOKE ALL ON SCHEMA " + schema + " FROM PUBLIC"},
      {Fill(kCapturesFunction)},
      {"DROP FUNCTION IF EXISTS " + schema + ".named(oid)"},
      {Fill(kFactsFunction)},
      {Fill(kGuardFunction)},
      {"DROP FUNCTION IF EXISTS " + schema + ".capture_facts(boolean)"}};
  for (const char* suffix : {"", "_start", "_drop"}) {
    out.push_back({"DROP EVENT TRIGGER IF EXISTS " + name + suffix});
  }
  const std::string function = schema + ".guard()";
  out.push_back({"CREATE EVENT TRIGGER " + name + "_start ON ddl_command_start WHEN TAG IN (" +
                 kFactTags + ") EXECUTE FUNCTION " + function});
  out.push_back({"CREATE EVENT TRIGGER " + name + " ON ddl_command_end WHEN TAG IN (" +
                 std::string(kFactTags) + ", " + kObjectTags + ") EXECUTE FUNCTION " + function});
  out.push_back(
      {"CREATE EVENT TRIGGER " + name + "_drop ON sql_drop EXECUTE FUNCTION " + function});
  // Also with session_replication_role = replica (as a logical replica's apply would run).
  for (const char* suffix : {"", "_start", "_drop"}) {
    out.push_back({"ALTER EVENT TRIGGER " + name + suffix + " ENABLE ALWAYS"});
  }
  return out;
}

std::optional<std::string> DdlGuardState(odbc::Connection& connection) {
  odbc::Statement statement(connection);
  // All three or it is not there; disabled when any is.
  statement.Prepare(
      "SELECT CASE WHEN count(*) < 3 THEN NULL WHEN bool_and(evtenabled IN ('O', 'A')) THEN 'O' "
      "ELSE 'D' "
      "END FROM pg_catalog.pg_event_trigger WHERE evtname IN (?, ?, ?)");
  const std::string name(kDdlGuardName);
  statement.BindText(1, name);
  statement.BindText(2, name + "_start");
  statement.BindText(3, name + "_drop");
  statement.Execute();
  odbc::RowBatch batch;
  std::optional<std::string> state;
  if (statement.FetchBatch(batch, 1, 16) && batch.Get(0, 0)) state = std::string(*batch.Get(0, 0));
  statement.CloseCursor();
  return state;
}

std::string DdlGuardReport(odbc::Connection& connection) {
  const std::optional<std::string> state = DdlGuardState(connection);
  const std::string name(kDdlGuardName);
  odbc::Statement statement(connection);
  // The guard's own test (lower(setting) IN ('off', 'false')), so every spelling that turns it
  // off is reported.
  statement.ExecuteDirect(
      "SELECT CASE WHEN lower(coalesce(current_setting('cdc.ddl_guard', true), ''))"
      " IN ('off', 'false') THEN 'off' ELSE 'on' END");
  odbc::RowBatch batch;
  const bool off_by_default =
      statement.FetchBatch(batch, 1, 64) && batch.Get(0, 0) && *batch.Get(0, 0) == "off";
  statement.CloseCursor();
  if (state && *state != "D" && off_by_default) {
    return "ddl guard: DISABLED - cdc.ddl_guard = off for this role or database (ALTER ROLE / "
           "ALTER DATABASE ... RESET cdc.ddl_guard turns it on again)";
  }
  if (state && *state != "D") return "ddl guard: ok (event trigger " + name + ")";
  return "ddl guard: " + std::string(state ? "DISABLED" : "none") +
         " - a plain ALTER TABLE that drops, renames or retypes a captured column makes every "
         "write to the table fail until ddl --apply (" +
         (state ? "ALTER EVENT TRIGGER " + name + "[_start|_drop] ENABLE"
                : "ddl --apply as a superuser installs it") +
         "; or run such statements with ddl --apply --alter)";
}

}  // namespace cdc::producer
