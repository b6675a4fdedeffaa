// Schema changes of a captured table while the pipeline runs, compared through the whole
// pipeline with the PostgreSQL replica: a column added with a default (constant or volatile)
// reaches every replica row as the source holds it - the rows that existed before the ALTER
// TABLE and the rows written between it and `ddl --apply` (whose change-table rows lack the
// column) - because the producer backfills a table whose columns changed. Once per format.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/e2e/replica_fixture.h"
#include "tests/harness/odbc_sources.h"

namespace cdc::testing {
namespace {

class SchemaChangeTest : public ReplicaPipelineTest {
 protected:
  int ApplyDdl() {
    return RunCommand({"ddl", "--config", config_, "--apply"}, dir_.File("ddl2.log")).first;
  }
};

TEST_P(SchemaChangeTest, AddedColumnsReachTheRowsThatExistedBeforeOnPostgres) {
  cluster_.CreateDatabase("src");
  cluster_.Psql("src", "CREATE TABLE s (id integer PRIMARY KEY, v text)");
  WriteConfig(cluster_.OdbcConnectionString("src"), "    - name: public.s\n      topic: cdc.s\n");
  cluster_.Psql("src", "INSERT INTO s SELECT g, 'v' || g FROM generate_series(1, 300) g");
  const std::vector<TypeCase> before = {{"v", "", {}}};
  Start("cdc.s");
  WaitReplica("replica.s", before, Render(cluster_, "src", "s", before));

  // A constant and a volatile default (every existing row gets its own clock_timestamp()), then
  // writes the old trigger records without the new columns.
  cluster_.Psql("src",
                "ALTER TABLE s ADD COLUMN d integer NOT NULL DEFAULT 42, ADD COLUMN t timestamptz "
                "DEFAULT clock_timestamp()");
  cluster_.Psql("src",
                "INSERT INTO s (id, v, d) VALUES (301, 'w', 5); UPDATE s SET v = 'u', d = 7 WHERE "
                "id = 1; DELETE FROM s WHERE id = 2");
  ASSERT_EQ(ApplyDdl(), 0) << TailFile(dir_.File("ddl2.log"));
  cluster_.Psql("src",
                "INSERT INTO s (id, v, d) VALUES (302, 'a', 9); UPDATE s SET d = 8 WHERE id = 3");
  const std::vector<TypeCase> after = {{"v", "", {}}, {"d", "", {}}, {"t", "", {}}};
  WaitReplica("replica.s", after, Render(cluster_, "src", "s", after));
  EXPECT_GE(CountInFile(dir_.File("producer.log"), "backfilling so that existing rows carry them"),
            1u);
}

TEST_P(SchemaChangeTest, AddedColumnsReachTheRowsThatExistedBeforeOnSqlite) {
  SqliteSource source;
  odbc::Environment environment;
  odbc::Connection app(environment, source.ConnectionString() + "Timeout=20000;");
  app.Execute("CREATE TABLE s (id INTEGER PRIMARY KEY, v TEXT)");
  WriteConfig(source.ConnectionString(), "    - name: main.s\n      topic: cdc.s\n");
  app.SetAutocommit(false);
  for (int id = 1; id <= 300; ++id) {
    app.Execute("INSERT INTO s VALUES (" + std::to_string(id) + ", 'v" + std::to_string(id) + "')");
  }
  app.Commit();
  app.SetAutocommit(true);
  // The source's rows as a VALUES list the replica's rendering can be compared with.
  auto expected = [&](const std::vector<TypeCase>& cases) {
    std::string columns = "id";
    for (const TypeCase& c : cases) columns += ", " + c.column;
    std::string rows;
    for (const auto& row : Query(app, "SELECT " + columns + " FROM s ORDER BY id")) {
      rows += rows.empty() ? "(" : ", (";
      rows += *row[0];  // the id, a number
      for (size_t i = 1; i < row.size(); ++i) {
        rows += ", " + (row[i] ? "'" + *row[i] + "'" : std::string("NULL")) + "::text";
      }
      rows += ")";
    }
    return Render(cluster_, "replica", "(VALUES " + rows + ") v(" + columns + ")", cases);
  };
  const std::vector<TypeCase> before = {{"v", "", {}}};
  Start("cdc.s");
  WaitReplica("replica.s", before, expected(before));

  app.Execute("ALTER TABLE s ADD COLUMN d INTEGER NOT NULL DEFAULT 42");
  app.Execute("INSERT INTO s (id, v, d) VALUES (301, 'w', 5)");
  app.Execute("UPDATE s SET v = 'u', d = 7 WHERE id = 1");
  app.Execute("DELETE FROM s WHERE id = 2");
  ASSERT_EQ(ApplyDdl(), 0) << TailFile(dir_.File("ddl2.log"));
  app.Execute("INSERT INTO s (id, v, d) VALUES (302, 'a', 9)");
  app.Execute("UPDATE s SET d = 8 WHERE id = 3");
  const std::vector<TypeCase> after = {{"v", "", {}}, {"d", "", {}}};
  WaitReplica("replica.s", after, expected(after));
}

// Columns dropped and renamed through `ddl --apply --alter` while rows keep changing, then one
// added: the backfill the new names start reads the table as it is now (the change table still
// has the old columns), so every replica row ends up with the source's values in the columns it
// has; the dropped and the renamed-away columns read as null. (A backfill read the change table's
// column list from the table and failed on the first gone column, forever.)
TEST_P(SchemaChangeTest, DroppedAndRenamedColumnsAreBackfilledFromTheTableAsItIs) {
  cluster_.CreateDatabase("src");
  cluster_.Psql("src", "CREATE TABLE t (id integer PRIMARY KEY, a integer, b text, e text)");
  WriteConfig(cluster_.OdbcConnectionString("src"), "    - name: public.t\n      topic: cdc.t\n");
  cluster_.Psql("src",
                "INSERT INTO t SELECT g, g, 'b' || g, 'e' || g FROM generate_series(1, 500) g");
  const std::vector<TypeCase> before = {{"a", "", {}}, {"b", "", {}}, {"e", "", {}}};
  Start("cdc.t");
  WaitReplica("replica.t", before, Render(cluster_, "src", "t", before));
  for (const char* alter : {"ALTER TABLE t DROP COLUMN e", "ALTER TABLE t RENAME COLUMN b TO b2",
                            "ALTER TABLE t ADD COLUMN f integer DEFAULT 5"}) {
    ASSERT_EQ(
        RunCommand({"ddl", "--config", config_, "--apply", "--table", "public.t", "--alter", alter},
                   dir_.File("ddl2.log"))
            .first,
        0)
        << alter << "\n"
        << TailFile(dir_.File("ddl2.log"));
    cluster_.Psql("src", "UPDATE t SET a = a + 1 WHERE id % 7 = 0");
  }
  const std::vector<TypeCase> after = {{"a", "", {}}, {"b2", "", {}}, {"f", "", {}}};
  WaitReplica("replica.t", after, Render(cluster_, "src", "t", after));
  EXPECT_EQ(cluster_.Psql("replica",
                          "SELECT count(*) FROM replica.t WHERE e IS NOT NULL OR b IS "
                          "NOT NULL"),
            "0");
  EXPECT_EQ(CountInFile(dir_.File("producer.log"), "table cannot be polled"), 0u)
      << TailFile(dir_.File("producer.log"));
  EXPECT_EQ(cluster_.Psql("replica", "SELECT count(*) FROM cdc.dead_letters"), "0");
}

// Widened columns (integer -> bigint, varchar(10) -> varchar(100), numeric(5,2) -> numeric(10,4):
// a new scale) widen the replica's columns too; the wider values arrive exactly, nothing is
// dead-lettered (a scale change was refused by the consumer before, and a schema differing only
// in a decimal's scale kept its id: values arrived 100 times too large).
TEST_P(SchemaChangeTest, WidenedColumnsWidenTheReplica) {
  cluster_.CreateDatabase("src");
  cluster_.Psql(
      "src", "CREATE TABLE w (id integer PRIMARY KEY, i integer, v varchar(10), n numeric(5,2))");
  WriteConfig(cluster_.OdbcConnectionString("src"), "    - name: public.w\n      topic: cdc.w\n");
  cluster_.Psql("src", "INSERT INTO w VALUES (1, 2147483647, 'short', 999.99), (2, 0, '', -1.5)");
  const std::vector<TypeCase> columns = {{"i", "", {}}, {"v", "", {}}, {"n", "", {}}};
  Start("cdc.w");
  WaitReplica("replica.w", columns, Render(cluster_, "src", "w", columns));
  // The numeric alone first (a change of precision and scale only), then the others.
  for (const char* alter :
       {"ALTER TABLE w ALTER COLUMN n TYPE numeric(10,4)",
        "ALTER TABLE w ALTER COLUMN i TYPE bigint, ALTER COLUMN v TYPE varchar(100)"}) {
    ASSERT_EQ(
        RunCommand({"ddl", "--config", config_, "--apply", "--table", "public.w", "--alter", alter},
                   dir_.File("ddl2.log"))
            .first,
        0)
        << TailFile(dir_.File("ddl2.log"));
    cluster_.Psql("src",
                  "INSERT INTO w VALUES (3, 2147483647, repeat('x', 10), 123456.1234) ON "
                  "CONFLICT (id) DO UPDATE SET n = EXCLUDED.n + 1; UPDATE w SET n = "
                  "0.0001 WHERE id = 2");
    WaitReplica("replica.w", columns, Render(cluster_, "src", "w", columns));
  }
  cluster_.Psql("src",
                "INSERT INTO w VALUES (4, 9223372036854775807, repeat('x', 100), 123456.1234)");
  WaitReplica("replica.w", columns, Render(cluster_, "src", "w", columns));
  // A plain ALTER (let through the DDL guard as its message says), a write before ddl --apply
  // (the change table, still numeric(10,4), rounds 0.000001 to 0.0000), then ddl --apply: the
  // backfill the retyped column starts corrects it.
  cluster_.Psql("src",
                "BEGIN; SET LOCAL cdc.ddl_guard = off; ALTER TABLE w ALTER COLUMN n TYPE "
                "numeric(12,6); COMMIT");
  cluster_.Psql("src", "UPDATE w SET n = 0.000001 WHERE id = 2");
  ASSERT_EQ(RunCommand({"ddl", "--config", config_, "--apply"}, dir_.File("ddl3.log")).first, 0)
      << TailFile(dir_.File("ddl3.log"));
  WaitReplica("replica.w", columns, Render(cluster_, "src", "w", columns));
  EXPECT_EQ(cluster_.Psql("replica", "SELECT count(*) FROM cdc.dead_letters"), "0");
}

// NOT NULL at the source is NOT NULL in the schemas and in the replica; when the source drops it
// and writes a NULL, the schema field becomes nullable and the replica drops its NOT NULL: the
// row arrives, nothing is dead-lettered.
TEST_P(SchemaChangeTest, NotNullFollowsTheSourceIntoTheReplica) {
  cluster_.CreateDatabase("src");
  cluster_.Psql("src", "CREATE TABLE nn (id integer PRIMARY KEY, v text NOT NULL, w text)");
  WriteConfig(cluster_.OdbcConnectionString("src"), "    - name: public.nn\n      topic: cdc.nn\n");
  cluster_.Psql("src", "INSERT INTO nn SELECT g, 'v' || g, NULL FROM generate_series(1, 50) g");
  const std::vector<TypeCase> columns = {{"v", "", {}}, {"w", "", {}}};
  Start("cdc.nn");
  WaitReplica("replica.nn", columns, Render(cluster_, "src", "nn", columns));
  const std::string not_null =
      "SELECT string_agg(attname || ':' || attnotnull, ',' ORDER BY attnum) FROM pg_attribute"
      " WHERE attrelid = 'replica.nn'::regclass AND attname IN ('id', 'v', 'w')";
  EXPECT_EQ(cluster_.Psql("replica", not_null), "id:true,v:true,w:false");
  cluster_.Psql("src", "ALTER TABLE nn ALTER COLUMN v DROP NOT NULL");
  cluster_.Psql("src",
                "UPDATE nn SET v = NULL WHERE id = 1; INSERT INTO nn VALUES (51, NULL, 'x')");
  WaitReplica("replica.nn", columns, Render(cluster_, "src", "nn", columns));
  EXPECT_EQ(cluster_.Psql("replica", not_null), "id:true,v:false,w:false");
  EXPECT_EQ(cluster_.Psql("replica", "SELECT count(*) FROM cdc.dead_letters"), "0");
  EXPECT_GE(CountInFile(dir_.File("producer.log"), "its schema field becomes nullable"), 1u);
}

INSTANTIATE_TEST_SUITE_P(Formats, SchemaChangeTest, ::testing::Values("avro", "json"));

}  // namespace
}  // namespace cdc::testing
