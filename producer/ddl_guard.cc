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
// What each capture trigger uses, one row per fact: its change table ("t"; named after the
// trigger function: its name less "_FN", in its schema), the function itself ("f": name,
// owner, rights, settings, body), each column of the table that the change table has a column
// of that name for ("b" + attnum; every column with all_columns) and each change-table column
// ("c" + attnum). `fact` is what must not change (oids, not names, for types: renaming a type
// or its schema changes nothing; a rename of the table itself neither), `shown` how a DBA reads
// it.
constexpr const char* kFactsFunction =
    R"(CREATE OR REPLACE FUNCTION cdc_ddl_guard.capture_facts(all_columns boolean)
RETURNS TABLE (trigger_id oid, key text, fact text, shown text) LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $cdc$
  WITH capture AS (
    SELECT t.oid AS trigger_id, t.tgrelid AS base, t.tgfoid AS fn,
           format('%I.%I', n.nspname, left(p.proname, -3)) AS ct_name,
           to_regclass(format('%I.%I', n.nspname, left(p.proname, -3))) AS ct
      FROM pg_trigger t
      JOIN pg_proc p ON p.oid = t.tgfoid
      JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE t.tgargs = decode('$1', 'hex'))
  SELECT c.trigger_id, 't', (c.ct IS NOT NULL)::text || ' ' || c.ct_name,
         CASE WHEN c.ct IS NULL THEN 'no change table ' || c.ct_name
              ELSE 'change table ' || c.ct_name END
    FROM capture c
  UNION ALL
  SELECT c.trigger_id, 'f',
         concat_ws(' ', p.oid::regprocedure::text, p.proowner, p.prosecdef,
                   array_to_string(p.proconfig, ','), md5(p.prosrc)),
         format('trigger function %s (owner %s%s)', p.oid::regprocedure,
                pg_get_userbyid(p.proowner), CASE WHEN p.prosecdef THEN ', security definer'
                                                  ELSE ', security invoker' END)
    FROM capture c
    JOIN pg_proc p ON p.oid = c.fn
  UNION ALL
  SELECT c.trigger_id, 'b' || a.attnum, concat_ws(' ', quote_ident(a.attname), a.atttypid, a.atttypmod),
         format('column %I of %s (%s)', a.attname, c.base::regclass,
                format_type(a.atttypid, a.atttypmod))
    FROM capture c
    JOIN pg_attribute a ON a.attrelid = c.base AND a.attnum > 0 AND NOT a.attisdropped
   WHERE all_columns OR EXISTS (SELECT 1 FROM pg_attribute x WHERE x.attrelid = c.ct
                                   AND x.attname = a.attname AND NOT x.attisdropped)
  UNION ALL
  SELECT c.trigger_id, 'c' || a.attnum, concat_ws(' ', quote_ident(a.attname), a.atttypid, a.atttypmod),
         format('column %I of change table %s (%s)', a.attname, c.ct_name,
                format_type(a.atttypid, a.atttypmod))
    FROM capture c
    JOIN pg_attribute a ON a.attrelid = c.ct AND a.attnum > 0 AND NOT a.attisdropped
$cdc$)";

// One function for the three events, dispatching on TG_EVENT.
// - ddl_command_start: the facts, pushed on a stack kept for the transaction (DDL run inside
//   a statement - a function it calls, another event trigger - nests its own start and end).
// - ddl_command_end: the facts popped and taken again; a capture trigger still there whose fact
//   changed (a column dropped, renamed or retyped, also through a parent table, a composite
//   type or a schema; its function renamed, moved, re-owned or replaced) fails the statement;
//   so does any statement on a change table, its sequence, indexes, rules or triggers - the
//   change tables belong to `ddl`.
// - sql_drop (any DROP, CASCADE included): a dropped column of a captured table that its change
//   table has, or a change table or its column, fails it.
// SET LOCAL cdc.ddl_guard = off lets a statement through (ddl does so for its own).
constexpr const char* kGuardFunction = R"(CREATE OR REPLACE FUNCTION cdc_ddl_guard.guard()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $cdc$
DECLARE
  stack jsonb;
  before jsonb;
  problems text;
BEGIN
  IF current_setting('cdc.ddl_guard', true) = 'off' THEN
    RETURN;
  END IF;
  stack := coalesce(nullif(current_setting('cdc.capture_facts', true), ''), '[]')::jsonb;
  IF TG_EVENT = 'ddl_command_start' THEN
    PERFORM set_config('cdc.capture_facts', (stack || jsonb_build_array(
      (SELECT coalesce(jsonb_agg(jsonb_build_array(f.trigger_id, f.key, f.fact, f.shown)), '[]')
         FROM cdc_ddl_guard.capture_facts(false) f)))::text, true);
    RETURN;
  ELSIF TG_EVENT = 'ddl_command_end' THEN
    IF jsonb_array_length(stack) > 0 THEN
      before := stack->-1;
      PERFORM set_config('cdc.capture_facts', (stack - (-1))::text, true);
      SELECT string_agg((b.value->>3) || ': now ' || coalesce(n.shown, 'gone'), '; ')
        INTO problems
        FROM jsonb_array_elements(before) b
        LEFT JOIN (SELECT * FROM cdc_ddl_guard.capture_facts(true)) n
          ON n.trigger_id = (b.value->>0)::oid AND n.key = b.value->>1
       WHERE EXISTS (SELECT 1 FROM pg_trigger t WHERE t.oid = (b.value->>0)::oid)
         AND n.fact IS DISTINCT FROM b.value->>2;
    END IF;
    IF problems IS NULL THEN
      SELECT string_agg(DISTINCT format('changes change table %s', r.relid::regclass), '; ')
        INTO problems
        FROM (SELECT CASE
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
              END AS relid
                FROM pg_event_trigger_ddl_commands() c) r
       WHERE r.relid IN (
         SELECT to_regclass(format('%I.%I', n.nspname, left(p.proname, -3)))
           FROM pg_trigger t
           JOIN pg_proc p ON p.oid = t.tgfoid
           JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE t.tgargs = decode('$1', 'hex'));
    END IF;
  ELSE
    SELECT string_agg(format('drops %s %s', d.object_type, d.object_identity), '; ')
      INTO problems
      FROM pg_event_trigger_dropped_objects() d
     WHERE d.object_type IN ('table', 'table column')
       AND EXISTS (
         SELECT 1 FROM pg_trigger t
           JOIN pg_proc p ON p.oid = t.tgfoid
           JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE t.tgargs = decode('$1', 'hex')
            AND ((n.nspname = d.address_names[1] AND left(p.proname, -3) = d.address_names[2])
              OR (d.object_type = 'table column' AND t.tgrelid = d.objid
                  AND EXISTS (SELECT 1 FROM pg_attribute x
                               WHERE x.attrelid = to_regclass(format('%I.%I', n.nspname, left(p.proname, -3)))
                                 AND x.attname = d.address_names[3] AND NOT x.attisdropped))));
  END IF;
  IF problems IS NOT NULL THEN
    RAISE EXCEPTION 'cdc: this statement changes what a capture trigger uses, which would make it refuse the application''s writes: %', problems
      USING ERRCODE = 'dependent_objects_still_exist',
            HINT = 'Run it as: cdc-producer ddl --apply --table <the table> --alter "<statement>" (it alters the table, its change table and trigger together). '
                   'To let it through anyway: SET LOCAL cdc.ddl_guard = off in its transaction, then run cdc-producer ddl --apply at once; writes to the table fail until then.';
  END IF;
END
$cdc$)";

// The statements it runs on: what can change a captured table's columns, a change table, or a
// capture trigger's function.
constexpr const char* kGuardedTags =
    "'ALTER TABLE', 'ALTER VIEW', 'ALTER MATERIALIZED VIEW', 'ALTER FOREIGN TABLE', "
    "'ALTER TYPE', 'ALTER SCHEMA', 'ALTER SEQUENCE', 'ALTER FUNCTION', 'CREATE FUNCTION', "
    "'CREATE TRIGGER', 'CREATE RULE', 'CREATE INDEX'";

// `text` with each "$1" replaced by the marker's hex.
std::string Fill(const std::string& text) {
  std::string out = text;
  const std::string marker = MarkerHex();
  for (size_t at = out.find("$1"); at != std::string::npos; at = out.find("$1", at)) {
    out.replace(at, 2, marker);
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
      {Fill(kFactsFunction)},
      {Fill(kGuardFunction)}};
  for (const char* suffix : {"", "_start", "_drop"}) {
    out.push_back({"DROP EVENT TRIGGER IF EXISTS " + name + suffix});
  }
  const std::string function = schema + ".guard()";
  out.push_back({"CREATE EVENT TRIGGER " + name + "_start ON ddl_command_start WHEN TAG IN (" +
                 kGuardedTags + ") EXECUTE FUNCTION " + function});
  out.push_back({"CREATE EVENT TRIGGER " + name + " ON ddl_command_end WHEN TAG IN (" +
                 kGuardedTags + ") EXECUTE FUNCTION " + function});
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
  if (state && *state != "D") return "ddl guard: ok (event trigger " + name + ")";
  return "ddl guard: " + std::string(state ? "DISABLED" : "none") +
         " - a plain ALTER TABLE that drops, renames or retypes a captured column makes every "
         "write to the table fail until ddl --apply (" +
         (state ? "ALTER EVENT TRIGGER " + name + "[_start|_drop] ENABLE"
                : "ddl --apply as a superuser installs it") +
         "; or run such statements with ddl --apply --alter)";
}

}  // namespace cdc::producer
