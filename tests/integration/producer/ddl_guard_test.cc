// Plain DDL beside the application's writers, run as a DBA or a migration tool would: on
// PostgreSQL the DDL guard (event triggers `ddl --apply` installs as a superuser) refuses every
// statement found to break a capture trigger - directly, through a parent table, a composite
// type, a schema, a CASCADE, or on the change table - naming --alter, and no write fails;
// without a superuser `ddl` says the tables rely on --alter. SQLite refuses to drop a column a
// trigger names by itself.
#include <gtest/gtest.h>

#include <cstdlib>
#include <pqxx/pqxx>
#include <thread>

#include "tests/harness/odbc_sources.h"
#include "tests/harness/pg_cluster.h"
#include "tests/harness/pg_writers.h"
#include "tests/integration/producer/producer_fixture.h"

namespace cdc::testing {
namespace {

// The error a statement fails with, or "" when it succeeds.
std::string Attempt(const std::string& url, const std::string& sql) {
  try {
    pqxx::connection db(url);
    pqxx::work tx(db);
    tx.exec(sql);
    tx.commit();
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::string Columns(const PgCluster& cluster, const std::string& database) {
  return cluster.Psql(database,
                      "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
                      "information_schema.columns WHERE table_schema = 'public' AND table_name = "
                      "'g'");
}

TEST(DdlGuard, PlainAltersThatWouldBreakTheTriggerAreRefusedAndNoWriteFails) {
  PgCluster cluster;
  PostgresOdbcSource pg(cluster, "guard");
  TempDir dir("cdc-guard");
  cluster.Psql(
      "guard",
      "CREATE TABLE g (id integer PRIMARY KEY, a integer, b text, c varchar(10)); "
      "CREATE TABLE u (id integer PRIMARY KEY, x integer); "
      // A captured inheritance child, a captured partition, a captured typed table
      // and a column whose type lives in another schema.
      "CREATE TABLE parent (id integer PRIMARY KEY, v text); "
      "CREATE TABLE child (w integer) INHERITS (parent); ALTER TABLE child ADD PRIMARY KEY (id); "
      "CREATE TABLE parted (id integer, v text, PRIMARY KEY (id)) PARTITION BY RANGE (id); "
      "CREATE TABLE part1 PARTITION OF parted FOR VALUES FROM (0) TO (1000000); "
      "CREATE TYPE rowt AS (id integer, v text); "
      "CREATE TABLE typed OF rowt (PRIMARY KEY (id)); "
      "CREATE SCHEMA tx; CREATE TYPE tx.mood AS ENUM ('ok', 'sad'); "
      "CREATE TABLE moods (id integer PRIMARY KEY, m tx.mood); "
      "CREATE FUNCTION popf(x integer) RETURNS text LANGUAGE sql AS $$ SELECT "
      "set_config('cdc.capture_facts', '[[]]', true) || x $$; "
      "CREATE FUNCTION nest(x integer) RETURNS text LANGUAGE plpgsql AS $$ BEGIN "
      "ALTER TABLE u ADD COLUMN IF NOT EXISTS zz int; RETURN x::text; END $$");
  const std::string config = dir.File("config.yaml");
  WriteText(config, ProducerConfig("127.0.0.1:1", pg.ConnectionString(),
                                   "    - name: g\n    - name: child\n    - name: part1\n"
                                   "    - name: typed\n    - name: moods\n"));
  const auto [rc, output] = RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log"));
  ASSERT_EQ(rc, 0) << output;
  EXPECT_NE(output.find("DDL guard: event trigger cdc_capture_guard installed"), std::string::npos)
      << output;
  const std::string url = cluster.Url("guard");
  auto probe = [&] {  // a write to every captured table but g (whose writers run throughout)
    return Attempt(url,
                   "INSERT INTO child (id, v, w) VALUES (1, 'v', 1); UPDATE child SET v = 'w'; "
                   "DELETE FROM child; INSERT INTO part1 VALUES (1, 'v'); DELETE FROM part1; "
                   "INSERT INTO typed VALUES (1, 'v'); DELETE FROM typed; "
                   "INSERT INTO moods VALUES (1, 'ok'); DELETE FROM moods");
  };
  ASSERT_EQ(probe(), "");

  // The application, throughout: an insert and an update per transaction, a delete in every
  // other one.
  PgWriters writers(
      cluster.Url("guard"), 3,
      [](pqxx::work& tx, int id) {
        const std::string key = std::to_string(id);
        tx.exec("INSERT INTO g (id, a, c) VALUES (" + key + ", 1, 'c')");
        tx.exec("UPDATE g SET a = a + 1 WHERE id = " + key);
        if (id % 2 == 0) tx.exec("DELETE FROM g WHERE id = " + key);
      },
      std::chrono::microseconds(300));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (const char* refused :
       {"ALTER TABLE g DROP COLUMN b", "ALTER TABLE g DROP COLUMN b CASCADE",
        "ALTER TABLE g RENAME COLUMN a TO a2", "ALTER TABLE g ALTER COLUMN c TYPE varchar(20)",
        "ALTER TABLE g ALTER COLUMN a TYPE bigint", "ALTER TABLE g ADD COLUMN z int, DROP COLUMN c",
        "ALTER TABLE g RENAME COLUMN id TO key", "ALTER TABLE ONLY g DROP COLUMN b",
        "ALTER VIEW g RENAME COLUMN b TO b2", "ALTER TYPE g RENAME ATTRIBUTE b TO b2",
        "ALTER MATERIALIZED VIEW g RENAME COLUMN b TO b2",
        "DO $$ BEGIN EXECUTE 'ALTER TABLE g DROP COLUMN b'; END $$",
        // Through a parent, a partitioned table, a composite type, a CASCADE, a schema.
        "ALTER TABLE parent DROP COLUMN v", "ALTER TABLE parent RENAME COLUMN v TO v2",
        "ALTER TABLE parent ALTER COLUMN id TYPE bigint", "ALTER TABLE parted DROP COLUMN v",
        "ALTER TABLE parted RENAME COLUMN v TO v2", "ALTER TYPE rowt DROP ATTRIBUTE v CASCADE",
        "ALTER TYPE rowt RENAME ATTRIBUTE v TO w CASCADE",
        "ALTER TYPE rowt ALTER ATTRIBUTE id TYPE bigint CASCADE", "DROP TYPE tx.mood CASCADE",
        "DROP SCHEMA tx CASCADE",
        // The change tables the triggers write.
        "ALTER TABLE \"g_CT\" DROP COLUMN b", "ALTER TABLE \"g_CT\" RENAME COLUMN b TO b2",
        "ALTER TABLE \"g_CT\" RENAME TO g_ct_old",
        "ALTER TABLE \"g_CT\" ALTER COLUMN a TYPE smallint", "DROP TABLE \"g_CT\"",
        "DROP TABLE \"child_CT\" CASCADE",
        "CREATE SCHEMA elsewhere; ALTER TABLE \"g_CT\" SET SCHEMA elsewhere",
        "ALTER TABLE \"g_CT\" ADD COLUMN z int NOT NULL DEFAULT 0",
        "ALTER TABLE \"g_CT\" ADD COLUMN q int",
        "ALTER TABLE \"g_CT\" ALTER COLUMN \"CDC_TS\" DROP DEFAULT",
        "ALTER TABLE \"g_CT\" ALTER COLUMN \"CDC_SEQ\" RESTART WITH 9223372036854775807",
        "ALTER SEQUENCE \"g_CT_CDC_SEQ_seq\" RESTART WITH 1",
        "ALTER TABLE \"g_CT\" ADD CONSTRAINT x CHECK (\"CDC_OP\" <> 'I') NOT VALID",
        "CREATE UNIQUE INDEX ON \"g_CT\" (\"CDC_SEQ\", id)",
        "CREATE RULE r AS ON INSERT TO \"g_CT\" DO INSTEAD NOTHING",
        // The trigger function: renamed, moved, made security invoker, replaced.
        "ALTER FUNCTION \"g_CT_FN\"() RENAME TO \"zz_FN\"",
        "CREATE SCHEMA elsewhere; ALTER FUNCTION \"g_CT_FN\"() SET SCHEMA elsewhere",
        "ALTER FUNCTION \"g_CT_FN\"() SECURITY INVOKER",
        "CREATE OR REPLACE FUNCTION \"g_CT_FN\"() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RETURN NULL; END $$",
        "CREATE OR REPLACE TRIGGER \"g_CT_TRG\" AFTER INSERT ON g FOR EACH ROW EXECUTE "
        "FUNCTION \"g_CT_FN\"()",
        // DDL run inside the statement (by a function its USING calls) checks itself, not the
        // statement around it.
        "ALTER TABLE g ALTER COLUMN a TYPE text USING nest(a)",
        // Memory settings that would push the guard's own queries to temporary files.
        "SET LOCAL temp_file_limit = '64kB'; SET LOCAL work_mem = '64kB'; "
        "ALTER TABLE g RENAME COLUMN a TO a2",
        // The change table made a partition; another capture trigger's function attached to
        // another table.
        "CREATE TABLE ctp (LIKE \"g_CT\") PARTITION BY LIST (\"CDC_OP\"); "
        "ALTER TABLE ctp ATTACH PARTITION \"g_CT\" FOR VALUES IN ('I', 'U', 'D')",
        "CREATE TRIGGER zz AFTER INSERT ON u FOR EACH ROW EXECUTE FUNCTION "
        "\"typed_CT_FN\"('cdc-capture')"}) {
    const std::string error = Attempt(url, refused);
    EXPECT_NE(error.find("cdc: this statement changes what a capture trigger uses"),
              std::string::npos)
        << refused << ": " << error;
    EXPECT_NE(error.find("--alter"), std::string::npos) << error;
    EXPECT_EQ(probe(), "") << refused;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(Attempt(url, "ALTER TABLE g RENAME COLUMN a TO a2")
                .find("renames column a of public.g to a2"),
            std::string::npos);
  EXPECT_NE(Attempt(url, "ALTER TABLE g DROP COLUMN b").find("drops table column public.g.b"),
            std::string::npos);
  // A guard that cannot check a statement (here: its notes replaced under it) refuses it.
  EXPECT_NE(Attempt(url, "ALTER TABLE g ALTER COLUMN a TYPE text USING popf(a)")
                .find("cdc: the DDL guard could not check this statement"),
            std::string::npos);
  EXPECT_EQ(Columns(cluster, "guard"), "id,a,b,c");
  // What leaves the triggers working passes: an added column (renamed or dropped again before
  // ddl --apply captures it), storage settings, indexes, comments, other tables, a rename of a
  // captured table, the capture turned off (trigger dropped, then its change table).
  for (const char* allowed :
       {"ALTER TABLE g ADD COLUMN d integer DEFAULT 7", "ALTER TABLE g SET (fillfactor = 90)",
        "ALTER TABLE g ALTER COLUMN b SET STATISTICS 200", "ALTER TABLE u DROP COLUMN x",
        "ALTER TABLE g ADD COLUMN e text", "ALTER TABLE g RENAME COLUMN e TO e2",
        "ALTER TABLE g DROP COLUMN e2", "CREATE INDEX ON g (c)", "COMMENT ON COLUMN g.a IS 'a'",
        "COMMENT ON TRIGGER \"g_CT_TRG\" ON g IS '[[1, \"x\"]]'",
        // Types and schemas renamed (the columns keep their types).
        "ALTER TYPE tx.mood RENAME TO mood2", "CREATE SCHEMA ty; ALTER TYPE tx.mood2 SET SCHEMA ty",
        "ALTER SCHEMA tx RENAME TO tx2", "ALTER TYPE rowt RENAME TO rowt2",
        "ALTER TABLE moods RENAME TO moods2; ALTER TABLE moods2 RENAME TO moods",
        "ALTER TABLE u RENAME COLUMN id TO id2", "DROP TABLE u",
        "DROP TRIGGER \"typed_CT_TRG\" ON typed; DROP TABLE \"typed_CT\""}) {
    EXPECT_EQ(Attempt(url, allowed), "") << allowed;
  }
  // A superuser's database default of the escape turns the guard off: check says so.
  cluster.Psql("postgres", "ALTER DATABASE guard SET cdc.ddl_guard = off");
  const std::string off = RunCommand({"check", "--config", config}, dir.File("check.log")).second;
  EXPECT_NE(off.find("ddl guard: DISABLED - cdc.ddl_guard = off"), std::string::npos) << off;
  // ... in every spelling the guard itself takes for off.
  cluster.Psql("postgres", "ALTER DATABASE guard SET cdc.ddl_guard = 'FALSE'");
  const std::string spelled =
      RunCommand({"check", "--config", config}, dir.File("check.log")).second;
  EXPECT_NE(spelled.find("ddl guard: DISABLED"), std::string::npos) << spelled;
  cluster.Psql("postgres", "ALTER DATABASE guard RESET cdc.ddl_guard");
  // A column added with the name of one the change table keeps from before (dropped with
  // --alter) is not captured yet: it may be retyped, renamed and dropped again.
  ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply", "--table", "moods", "--alter",
                        "ALTER TABLE moods DROP COLUMN m"},
                       dir.File("ddl.log"))
                .first,
            0);
  for (const char* allowed :
       {"ALTER TABLE moods ADD COLUMN m integer", "ALTER TABLE moods ALTER COLUMN m TYPE bigint",
        "ALTER TABLE moods RENAME COLUMN m TO m2", "ALTER TABLE moods DROP COLUMN m2"}) {
    EXPECT_EQ(Attempt(url, allowed), "") << allowed;
  }
  EXPECT_EQ(Attempt(url,
                    "ALTER TABLE moods ADD COLUMN m ty.mood2; INSERT INTO moods VALUES (7, 'ok'); "
                    "DELETE FROM moods WHERE id = 7"),
            "");
  EXPECT_EQ(
      RunCommand({"ddl", "--config", config, "--apply", "--table", "moods"}, dir.File("ddl.log"))
          .first,
      0);
  // The documented way to let one through (then ddl --apply at once).
  EXPECT_EQ(
      Attempt(url, "SET LOCAL cdc.ddl_guard = 'OFF'; ALTER TABLE moods RENAME COLUMN m TO m2"), "");
  EXPECT_NE(Attempt(url, "INSERT INTO moods VALUES (2, 'ok')").find("has no field"),
            std::string::npos);
  EXPECT_EQ(
      RunCommand({"ddl", "--config", config, "--apply", "--table", "moods"}, dir.File("ddl.log"))
          .first,
      0);
  EXPECT_EQ(Attempt(url, "INSERT INTO moods VALUES (2, 'ok')"), "");
  // The way to drop one: --alter. The trigger made then records the table as it is, with d.
  const auto [alter_rc, altered] = RunCommand({"ddl", "--config", config, "--apply", "--table", "g",
                                               "--alter", "ALTER TABLE g DROP COLUMN b"},
                                              dir.File("ddl.log"));
  EXPECT_EQ(alter_rc, 0) << altered;
  EXPECT_EQ(Columns(cluster, "guard"), "id,a,c,d");
  EXPECT_NE(Attempt(url, "ALTER TABLE g DROP COLUMN d").find("drops table column public.g.d"),
            std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  writers.Stop();
  EXPECT_EQ(writers.failed(), 0) << writers.failure();
  ASSERT_GT(writers.committed(), 20);
  // Every write recorded.
  const int expected = 2 * writers.committed() + writers.transactions() / 2;
  EXPECT_EQ(cluster.Psql("guard", "SELECT count(*) FROM \"g_CT\""), std::to_string(expected));
  EXPECT_EQ(cluster.Psql("guard", "SELECT count(*) FROM \"g_CT\" WHERE \"CDC_OP\" = 'U'"),
            std::to_string(writers.committed()));
  // A plain ALTER that waited for a running --alter (its trigger re-made meanwhile) is still
  // compared with the table as the ALTER found it.
  {
    pqxx::connection holder(url);
    pqxx::work hold(holder);
    hold.exec("LOCK TABLE g IN ACCESS EXCLUSIVE MODE");
    Process alter({CDC_PRODUCER_PATH, "ddl", "--config", config, "--apply", "--table", "g",
                   "--alter", "ALTER TABLE g ADD COLUMN k integer"},
                  dir.File("race.log"));
    const auto waiting = [&](int n) {
      return WaitFor(
          [&] {
            return std::stoi(cluster.Psql("guard",
                                          "SELECT count(*) FROM pg_locks WHERE NOT granted")) >= n;
          },
          std::chrono::seconds(20));
    };
    ASSERT_TRUE(waiting(1));
    std::string raced;
    std::thread rename([&] { raced = Attempt(url, "ALTER TABLE g RENAME COLUMN c TO c2"); });
    ASSERT_TRUE(waiting(2));
    hold.commit();
    rename.join();
    EXPECT_EQ(alter.Wait(std::chrono::seconds(30)), 0) << Tail(dir.File("race.log"));
    EXPECT_NE(raced.find("renames column c of public.g to c2"), std::string::npos) << raced;
    EXPECT_EQ(Attempt(url,
                      "INSERT INTO g (id, a, c) VALUES (-5, 1, 'c'); DELETE FROM g WHERE "
                      "id = -5"),
              "");
  }
  // Installed again over itself (as every ddl --apply does), and a printed script run by psql
  // over the guard: both pass it.
  const auto [again_rc, again] =
      RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log"));
  EXPECT_EQ(again_rc, 0) << again;
  EXPECT_NE(again.find("DDL guard: event trigger cdc_capture_guard installed"), std::string::npos)
      << again;
  const auto [print_rc, script] = RunCommand({"ddl", "--config", config}, dir.File("print.log"));
  ASSERT_EQ(print_rc, 0) << script;
  WriteText(dir.File("script.sql"), script);
  EXPECT_EQ(std::system(("psql -X -q -v ON_ERROR_STOP=1 '" + url + "' -f " +
                         dir.File("script.sql") + " > " + dir.File("psql.log") + " 2>&1")
                            .c_str()),
            0)
      << Tail(dir.File("psql.log"));
  EXPECT_NE(Attempt(url, "ALTER TABLE g DROP COLUMN c").find("drops table column public.g.c"),
            std::string::npos);
  const std::string report =
      RunCommand({"check", "--config", config}, dir.File("check.log")).second;
  EXPECT_EQ(report.find("OUT OF DATE"), std::string::npos) << report;
  EXPECT_NE(report.find("ddl guard: ok (event trigger cdc_capture_guard)"), std::string::npos)
      << report;
}

// A role that may not create event triggers: ddl --apply works and warns that the tables rely on
// --alter (a plain DROP COLUMN then fails the application's writes, as documented). Once a
// superuser has installed the guard, that role's triggers are guarded too.
TEST(DdlGuard, WithoutASuperuserDdlSaysSoAndASuperusersGuardCoversItsTriggers) {
  PgCluster cluster;
  PostgresOdbcSource pg(cluster, "owned");
  TempDir dir("cdc-guard-role");
  cluster.Psql("owned",
               "CREATE ROLE app LOGIN; GRANT CREATE ON SCHEMA public TO app; "
               "GRANT CREATE ON DATABASE owned TO app; "
               "CREATE TABLE g (id integer PRIMARY KEY, a integer, b text, c text); "
               "ALTER TABLE g OWNER TO app");
  std::string app_connection = pg.ConnectionString();
  app_connection.replace(app_connection.find("Uid=postgres"), 12, "Uid=app");
  const std::string app_config = dir.File("app.yaml");
  WriteText(app_config, ProducerConfig("127.0.0.1:1", app_connection, "    - name: g\n"));
  const std::string super_config = dir.File("super.yaml");
  WriteText(super_config, ProducerConfig("127.0.0.1:1", pg.ConnectionString(), "    - name: g\n"));
  std::string app_url = cluster.Url("owned");
  app_url.replace(app_url.find("postgres@"), 9, "app@");

  const auto [rc, output] =
      RunCommand({"ddl", "--config", app_config, "--apply"}, dir.File("ddl.log"));
  EXPECT_EQ(rc, 0) << output;
  EXPECT_NE(output.find("-- warning: no DDL guard (it could not be installed - creating event "
                        "triggers needs a superuser: "),
            std::string::npos)
      << output;
  auto check = [&] {
    return RunCommand({"check", "--config", app_config}, dir.File("check.log")).second;
  };
  EXPECT_NE(check().find("ddl guard: none - a plain ALTER TABLE"), std::string::npos) << check();
  EXPECT_EQ(Attempt(app_url, "ALTER TABLE g DROP COLUMN c"), "");
  EXPECT_NE(Attempt(app_url, "INSERT INTO g VALUES (1, 1, 'b')").find("has no field \"c\""),
            std::string::npos);
  EXPECT_EQ(RunCommand({"ddl", "--config", app_config, "--apply"}, dir.File("ddl.log")).first, 0);
  EXPECT_EQ(Attempt(app_url, "INSERT INTO g VALUES (1, 1, 'b')"), "");

  // The guard's functions run as a superuser: a schema for them that another role made (and
  // could put its own functions in) is refused; in the one the superuser makes, no other role
  // may create anything.
  EXPECT_EQ(Attempt(app_url, "CREATE SCHEMA cdc_ddl_guard"), "");
  const std::string refused =
      RunCommand({"ddl", "--config", super_config, "--apply"}, dir.File("ddl.log")).second;
  EXPECT_NE(refused.find("schema cdc_ddl_guard belongs to a role that is not a superuser"),
            std::string::npos)
      << refused;
  EXPECT_EQ(Attempt(app_url, "DROP SCHEMA cdc_ddl_guard"), "");
  EXPECT_NE(RunCommand({"ddl", "--config", super_config, "--apply"}, dir.File("ddl.log"))
                .second.find("installed"),
            std::string::npos);
  EXPECT_NE(Attempt(app_url,
                    "CREATE FUNCTION cdc_ddl_guard.f() RETURNS int LANGUAGE sql AS "
                    "'SELECT 1'")
                .find("permission denied"),
            std::string::npos);
  // Another role can neither run the capture function (it writes with its owner's rights) from
  // its own trigger, nor make the owner's table look like a change table of its own.
  cluster.Psql("owned", "CREATE ROLE intruder LOGIN; GRANT CREATE ON SCHEMA public TO intruder");
  std::string intruder_url = cluster.Url("owned");
  intruder_url.replace(intruder_url.find("postgres@"), 9, "intruder@");
  EXPECT_NE(Attempt(intruder_url,
                    "CREATE TEMP TABLE f (id integer, a integer, b text, c text); CREATE TRIGGER "
                    "x AFTER INSERT ON f FOR EACH ROW EXECUTE FUNCTION public.\"g_CT_FN\"()")
                .find("permission denied for function"),
            std::string::npos);
  EXPECT_EQ(Attempt(intruder_url,
                    "CREATE TABLE mal (id integer); CREATE FUNCTION public.\"g_FN\"() RETURNS "
                    "trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$; CREATE TRIGGER x "
                    "AFTER INSERT ON mal FOR EACH ROW EXECUTE FUNCTION "
                    "public.\"g_FN\"('cdc-capture')"),
            "");
  EXPECT_EQ(Attempt(app_url, "CREATE INDEX ON g (a); ALTER TABLE g ADD COLUMN z integer"), "");
  // The function owner's rights on its change table are part of what the trigger uses.
  EXPECT_NE(Attempt(app_url, "REVOKE INSERT ON \"g_CT\" FROM app").find("rights on"),
            std::string::npos);
  const auto [app_rc, app_output] =
      RunCommand({"ddl", "--config", app_config, "--apply"}, dir.File("ddl.log"));
  EXPECT_EQ(app_rc, 0) << app_output;
  EXPECT_NE(app_output.find("DDL guard: event trigger cdc_capture_guard - "), std::string::npos)
      << app_output;
  EXPECT_NE(Attempt(app_url, "ALTER TABLE g DROP COLUMN b").find("drops table column public.g.b"),
            std::string::npos);
  EXPECT_EQ(Attempt(app_url, "UPDATE g SET b = 'c'"), "");
  // Disabled by a superuser: ddl and check say so.
  cluster.Psql("owned", "ALTER EVENT TRIGGER cdc_capture_guard_drop DISABLE");
  EXPECT_NE(RunCommand({"ddl", "--config", app_config, "--apply"}, dir.File("ddl.log"))
                .second.find("event triggers cdc_capture_guard[_start|_drop] are disabled"),
            std::string::npos);
  EXPECT_NE(check().find("ddl guard: DISABLED"), std::string::npos) << check();
  // Firing only in replica mode is as good as disabled.
  cluster.Psql("owned",
               "ALTER EVENT TRIGGER cdc_capture_guard_drop ENABLE ALWAYS; "
               "ALTER EVENT TRIGGER cdc_capture_guard ENABLE REPLICA");
  EXPECT_NE(check().find("ddl guard: DISABLED"), std::string::npos) << check();
}

// SQLite refuses to drop a column its triggers name, and on a rename rewrites them: writes go on.
TEST(DdlGuard, SqliteRefusesToDropACapturedColumnItself) {
  SqliteSource lite;
  TempDir dir("cdc-guard-lite");
  odbc::Environment environment;
  odbc::Connection db(environment, lite.ConnectionString());
  db.Execute("CREATE TABLE g (id INTEGER PRIMARY KEY, a INTEGER, b TEXT)");
  const std::string config = dir.File("config.yaml");
  WriteText(config, ProducerConfig("127.0.0.1:1", lite.ConnectionString(), "    - name: g\n"));
  const auto [rc, output] = RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log"));
  ASSERT_EQ(rc, 0) << output;
  EXPECT_EQ(output.find("DDL guard"), std::string::npos) << output;
  EXPECT_THROW(db.Execute("ALTER TABLE g DROP COLUMN b"), Error);
  db.Execute("ALTER TABLE g RENAME COLUMN b TO b2");
  db.Execute("INSERT INTO g VALUES (1, 1, 'x')");
  db.Execute("UPDATE g SET b2 = 'y'");
  odbc::Statement statement(db);
  statement.ExecuteDirect("SELECT count(*) FROM g_CT WHERE b = 'y'");
  odbc::RowBatch batch;
  ASSERT_TRUE(statement.FetchBatch(batch, 1, 64));
  EXPECT_EQ(batch.Get(0, 0), "1");
}

}  // namespace
}  // namespace cdc::testing
