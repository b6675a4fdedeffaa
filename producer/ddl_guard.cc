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

// $1 the functions' schema (quoted), $2 the marker's hex.
//
// What each capture trigger uses, one row per fact: the change table's name ("t"), each column
// of the table that the change table has a column of that name for ("b" + attnum; every column
// with all_columns) and each change-table column ("c" + attnum): what must not change (name and
// type; a rename of the table itself changes nothing) and how to show it to a DBA. The
// change table is named after the trigger function (its name less "_FN", in its schema).
constexpr const char* kFactsFunction =
    R"(CREATE OR REPLACE FUNCTION $1.cdc_capture_facts(all_columns boolean)
RETURNS TABLE (trigger_id oid, key text, fact text, shown text) LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $cdc$
  WITH capture AS (
    SELECT t.oid AS trigger_id, t.tgrelid AS base,
           format('%I.%I', n.nspname, left(p.proname, -3)) AS ct_name,
           to_regclass(format('%I.%I', n.nspname, left(p.proname, -3))) AS ct
      FROM pg_trigger t
      JOIN pg_proc p ON p.oid = t.tgfoid
      JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE t.tgargs = decode('$2', 'hex'))
  SELECT c.trigger_id, 't', (c.ct IS NOT NULL)::text || ' ' || c.ct_name,
         CASE WHEN c.ct IS NULL THEN 'no change table ' || c.ct_name
              ELSE 'change table ' || c.ct_name END
    FROM capture c
  UNION ALL
  SELECT c.trigger_id, 'b' || a.attnum,
         format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)),
         format('column %I of %s (%s)', a.attname, c.base::regclass,
                format_type(a.atttypid, a.atttypmod))
    FROM capture c
    JOIN pg_attribute a ON a.attrelid = c.base AND a.attnum > 0 AND NOT a.attisdropped
   WHERE all_columns OR EXISTS (SELECT 1 FROM pg_attribute x WHERE x.attrelid = c.ct
                                   AND x.attname = a.attname AND NOT x.attisdropped)
  UNION ALL
  SELECT c.trigger_id, 'c' || a.attnum,
         format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)),
         format('column %I of change table %s (%s)', a.attname, c.ct_name,
                format_type(a.atttypid, a.atttypmod))
    FROM capture c
    JOIN pg_attribute a ON a.attrelid = c.ct AND a.attnum > 0 AND NOT a.attisdropped
$cdc$)";

// One function for the three events. ddl_command_start of an ALTER: the facts, kept for the
// transaction; its ddl_command_end: the facts again - a capture trigger still there whose fact
// changed (a column dropped, renamed or retyped, also through a parent table, a composite
// type or a schema) fails the statement. sql_drop (any DROP, CASCADE included): a dropped
// column of a captured table that its change table has, or of a change table, fails it.
// SET LOCAL cdc.ddl_guard = off lets a statement through (ddl does so for its own).
constexpr const char* kGuardFunction = R"(CREATE OR REPLACE FUNCTION $1.cdc_capture_guard()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $cdc$
DECLARE
  before text;
  problems text;
BEGIN
  IF current_setting('cdc.ddl_guard', true) = 'off' THEN
    RETURN;
  END IF;
  IF TG_EVENT = 'ddl_command_start' THEN
    PERFORM set_config('cdc.capture_facts',
      (SELECT coalesce(json_agg(json_build_array(f.trigger_id, f.key, f.fact, f.shown)), '[]')::text
         FROM $1.cdc_capture_facts(false) f), true);
    RETURN;
  ELSIF TG_EVENT = 'ddl_command_end' THEN
    before := current_setting('cdc.capture_facts', true);
    PERFORM set_config('cdc.capture_facts', '', true);
    IF coalesce(before, '') = '' THEN
      RETURN;
    END IF;
    SELECT string_agg((b.value->>3) || ': now ' || coalesce(n.shown, 'gone'), '; ')
      INTO problems
      FROM json_array_elements(before::json) b
      LEFT JOIN (SELECT * FROM $1.cdc_capture_facts(true)) n
        ON n.trigger_id = (b.value->>0)::oid AND n.key = b.value->>1
     WHERE EXISTS (SELECT 1 FROM pg_trigger t WHERE t.oid = (b.value->>0)::oid)
       AND n.fact IS DISTINCT FROM b.value->>2;
  ELSE
    SELECT string_agg(format('drops %s %s', d.object_type, d.object_identity), '; ')
      INTO problems
      FROM pg_event_trigger_dropped_objects() d
     WHERE d.object_type IN ('table', 'table column')
       AND EXISTS (
         SELECT 1 FROM pg_trigger t
           JOIN pg_proc p ON p.oid = t.tgfoid
           JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE t.tgargs = decode('$2', 'hex')
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

constexpr const char* kAlterTags =
    "'ALTER TABLE', 'ALTER VIEW', 'ALTER MATERIALIZED VIEW', 'ALTER FOREIGN TABLE', "
    "'ALTER TYPE', 'ALTER SCHEMA'";

// `text` with each "$<digit>" replaced by its value, in one pass (a value may hold a "$").
std::string Fill(const std::string& text, const std::string& schema) {
  const std::string values[] = {schema, MarkerHex()};
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] >= '1' && text[i + 1] <= '2') {
      out += values[text[i + 1] - '1'];
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

std::vector<DdlStatement> PostgresDdlGuard(const std::string& schema) {
  const std::string s = QuoteIdentifier(SqlDialect::kPostgres, schema);
  const std::string name(kDdlGuardName);
  const std::string function = s + ".cdc_capture_guard()";
  std::vector<DdlStatement> out = {{Fill(kFactsFunction, s)}, {Fill(kGuardFunction, s)}};
  for (const char* suffix : {"", "_start", "_drop"}) {
    out.push_back({"DROP EVENT TRIGGER IF EXISTS " + name + suffix});
  }
  out.push_back({"CREATE EVENT TRIGGER " + name + "_start ON ddl_command_start WHEN TAG IN (" +
                 kAlterTags + ") EXECUTE FUNCTION " + function});
  out.push_back({"CREATE EVENT TRIGGER " + name + " ON ddl_command_end WHEN TAG IN (" + kAlterTags +
                 ") EXECUTE FUNCTION " + function});
  out.push_back(
      {"CREATE EVENT TRIGGER " + name + "_drop ON sql_drop EXECUTE FUNCTION " + function});
  return out;
}

std::optional<std::string> DdlGuardState(odbc::Connection& connection) {
  odbc::Statement statement(connection);
  // All three or it is not there; disabled when any is.
  statement.Prepare(
      "SELECT CASE WHEN count(*) < 3 THEN NULL WHEN bool_or(evtenabled = 'D') THEN 'D' ELSE 'O' "
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
