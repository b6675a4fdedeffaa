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

// $1 the functions' schema (quoted), $2 the marker's hex, $3 the event trigger's name.
constexpr const char* kRecordFunction =
    R"(CREATE OR REPLACE FUNCTION $1.cdc_capture_record(trigger_id oid)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $cdc$
DECLARE
  capture record;
BEGIN
  -- The columns the capture trigger's function names: the table's, as it is created.
  FOR capture IN SELECT t.tgname, t.tgrelid FROM pg_trigger t
                  WHERE t.oid = trigger_id AND t.tgargs = decode('$2', 'hex') LOOP
    EXECUTE format('COMMENT ON TRIGGER %I ON %s IS %L', capture.tgname,
                   capture.tgrelid::regclass,
                   (SELECT json_agg(json_build_array(a.attnum, a.attname, a.atttypid, a.atttypmod)
                                    ORDER BY a.attnum)
                      FROM pg_attribute a
                     WHERE a.attrelid = capture.tgrelid AND a.attnum > 0 AND NOT a.attisdropped));
  END LOOP;
END
$cdc$)";

constexpr const char* kGuardFunction = R"(CREATE OR REPLACE FUNCTION $1.cdc_capture_guard()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $cdc$
DECLARE
  command record;
  capture record;
  problems text;
BEGIN
  FOR command IN SELECT c.command_tag, c.objid FROM pg_event_trigger_ddl_commands() c LOOP
    IF command.command_tag = 'CREATE TRIGGER' THEN
      PERFORM $1.cdc_capture_record(command.objid);
    ELSIF command.command_tag = 'ALTER TABLE' THEN
      FOR capture IN SELECT d.description FROM pg_trigger t
                       JOIN pg_description d
                         ON d.objoid = t.oid AND d.classoid = 'pg_catalog.pg_trigger'::regclass
                      WHERE t.tgrelid = command.objid AND t.tgargs = decode('$2', 'hex') LOOP
        problems := NULL;
        BEGIN
          SELECT string_agg(CASE
                   WHEN a.attnum IS NULL OR a.attisdropped
                     THEN format('drops column %I', e.value->>1)
                   WHEN a.attname <> e.value->>1
                     THEN format('renames column %I to %I', e.value->>1, a.attname)
                   ELSE format('changes column %I from %s to %s', a.attname,
                               format_type((e.value->>2)::oid, (e.value->>3)::int),
                               format_type(a.atttypid, a.atttypmod))
                 END, ', ' ORDER BY (e.value->>0)::int)
            INTO problems
            FROM json_array_elements(capture.description::json) e
            LEFT JOIN pg_attribute a
              ON a.attrelid = command.objid AND a.attnum = (e.value->>0)::int
           WHERE a.attnum IS NULL OR a.attisdropped OR a.attname <> e.value->>1
              OR a.atttypid <> (e.value->>2)::oid OR a.atttypmod <> (e.value->>3)::int;
        EXCEPTION WHEN OTHERS THEN
          problems := NULL;  -- a comment someone else wrote: no record, nothing to compare
        END;
        IF problems IS NOT NULL THEN
          RAISE EXCEPTION 'cdc: % is captured, and this statement %: its capture trigger would refuse the application''s writes',
                command.objid::regclass, problems
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = format('Run the statement as: cdc-producer ddl --apply --table %s --alter "<statement>" (it alters the table, its change table and trigger together). '
                                'To let it through anyway: ALTER EVENT TRIGGER $3 DISABLE, then run cdc-producer ddl --apply at once; writes to the table fail until then.',
                                command.objid::regclass);
        END IF;
      END LOOP;
    END IF;
  END LOOP;
END
$cdc$)";

// `text` with each "$<digit>" replaced by its value, in one pass (a value may hold a "$").
std::string Fill(const std::string& text, const std::string& schema) {
  const std::string values[] = {schema, MarkerHex(), std::string(kDdlGuardName)};
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] >= '1' && text[i + 1] <= '3') {
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
  return {
      {Fill(kRecordFunction, s)},
      {"REVOKE ALL ON FUNCTION " + s + ".cdc_capture_record(oid) FROM PUBLIC"},
      {Fill(kGuardFunction, s)},
      {"DROP EVENT TRIGGER IF EXISTS " + name},
      {"CREATE EVENT TRIGGER " + name +
       " ON ddl_command_end WHEN TAG IN ('ALTER TABLE', 'CREATE TRIGGER') EXECUTE FUNCTION " + s +
       ".cdc_capture_guard()"},
      // Capture triggers made before the guard: their tables' columns as they are now.
      {"SELECT " + s +
       ".cdc_capture_record(t.oid) FROM pg_catalog.pg_trigger t WHERE t.tgargs = "
       "pg_catalog.decode('" +
       MarkerHex() +
       "', 'hex') AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_description d WHERE d.objoid = "
       "t.oid AND d.classoid = 'pg_catalog.pg_trigger'::pg_catalog.regclass)"},
  };
}

std::optional<std::string> DdlGuardState(odbc::Connection& connection) {
  odbc::Statement statement(connection);
  statement.Prepare("SELECT evtenabled FROM pg_catalog.pg_event_trigger WHERE evtname = ?");
  statement.BindText(1, std::string(kDdlGuardName));
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
         (state ? "ALTER EVENT TRIGGER " + name + " ENABLE"
                : "ddl --apply as a superuser installs it") +
         "; or run such statements with ddl --apply --alter)";
}

}  // namespace cdc::producer
