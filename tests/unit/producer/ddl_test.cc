// Change-table DDL against golden files (Oracle cannot run here: its DDL is reviewed through
// these files). Regenerate with CDC_REGENERATE_GOLDEN=1 after an intended change.
#include "producer/ddl.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "producer/ddl_guard.h"

namespace cdc::producer {
namespace {

using event::ColumnMeta;
using event::ColumnType;

ColumnMeta Column(std::string name, ColumnType type, int precision = 0, int scale = 0,
                  int length = 0) {
  ColumnMeta column;
  column.name = std::move(name);
  column.type = type;
  column.precision = precision;
  column.scale = scale;
  column.length = length;
  return column;
}

// ORDER_LINES: composite key, decimals, text, blob, timestamps.
event::TableMeta OrderLines(const std::string& schema) {
  event::TableMeta table;
  table.schema = schema;
  table.table = "ORDER_LINES";
  table.columns = {
      Column("ORDER_ID", ColumnType::kInt64),        Column("LINE_NO", ColumnType::kInt32),
      Column("AMOUNT", ColumnType::kDecimal, 12, 2), Column("NOTE", ColumnType::kString, 0, 0, 200),
      Column("PAYLOAD", ColumnType::kBytes),         Column("CREATED_AT", ColumnType::kTimestamp),
      Column("SHIPPED_AT", ColumnType::kTimestampTz)};
  table.key = {0, 1};
  return table;
}

std::string Golden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(CDC_SOURCE_DIR) + "/tests/unit/producer/golden/" + name;
  if (std::getenv("CDC_REGENERATE_GOLDEN") != nullptr) {
    std::ofstream(path) << actual;
  }
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void ExpectGolden(SqlDialect dialect, const std::string& schema, const std::string& file) {
  const TableName table{schema, "ORDER_LINES"};
  const TableName change_table{schema, "ORDER_LINES_CT"};
  const std::string script =
      DdlScript(dialect, table, ChangeTableDdl(dialect, table, OrderLines(schema), change_table));
  EXPECT_EQ(script, Golden(file, script)) << "regenerate with CDC_REGENERATE_GOLDEN=1";
}

TEST(ChangeTableDdl, OracleMatchesGolden) {
  ExpectGolden(SqlDialect::kOracle, "SHOP", "oracle.sql");
}
TEST(ChangeTableDdl, PostgresMatchesGolden) {
  ExpectGolden(SqlDialect::kPostgres, "shop", "postgres.sql");
}
TEST(ChangeTableDdl, SqliteMatchesGolden) {
  ExpectGolden(SqlDialect::kSqlite, "main", "sqlite.sql");
}

TEST(ChangeTableDdl, OracleTriggerUsesNewOldTransactionIdAndSequence) {
  const TableName table{"SHOP", "ORDER_LINES"};
  const auto statements = ChangeTableDdl(SqlDialect::kOracle, table, OrderLines("SHOP"),
                                         TableName{"SHOP", "ORDER_LINES_CT"});
  ASSERT_EQ(statements.size(), 4u);
  const std::string& trigger = statements[3].sql;
  EXPECT_TRUE(statements[3].block);
  EXPECT_NE(trigger.find("AFTER INSERT OR UPDATE OR DELETE ON \"SHOP\".\"ORDER_LINES\""),
            std::string::npos);
  EXPECT_NE(trigger.find("DBMS_TRANSACTION.LOCAL_TRANSACTION_ID"), std::string::npos);
  EXPECT_NE(trigger.find("SYSTIMESTAMP"), std::string::npos);
  EXPECT_NE(trigger.find(":OLD.\"AMOUNT\""), std::string::npos);
  EXPECT_NE(trigger.find("\"SHOP\".\"ORDER_LINES_CT_SEQ\".NEXTVAL"), std::string::npos);
  EXPECT_NE(statements[2].sql.find("CREATE UNIQUE INDEX"), std::string::npos);
}

TEST(ChangeTableDdl, IdentifiersAreQuotedByTheDialect) {
  event::TableMeta table = OrderLines("shop");
  table.columns[3].name = "we\"ird name";
  const auto statements = ChangeTableDdl(SqlDialect::kPostgres, TableName{"shop", "ORDER_LINES"},
                                         table, TableName{"shop", "ORDER_LINES_CT"});
  EXPECT_NE(statements[0].sql.find("\"we\"\"ird name\""), std::string::npos);
  // Oracle cannot represent a double quote inside an identifier: refused, not mangled.
  EXPECT_THROW(ChangeTableDdl(SqlDialect::kOracle, TableName{"SHOP", "ORDER_LINES"}, table,
                              TableName{"SHOP", "ORDER_LINES_CT"}),
               PermanentError);
}

// The change table's columns as the catalog would read them: the metadata columns, then the
// first `data_columns` columns of `table`.
std::vector<ColumnMeta> ExistingColumns(const event::TableMeta& table, size_t data_columns) {
  std::vector<ColumnMeta> columns = {
      Column("CDC_SEQ", ColumnType::kInt64), Column("CDC_OP", ColumnType::kString, 0, 0, 1),
      Column("CDC_TS", ColumnType::kTimestamp), Column("CDC_TXID", ColumnType::kString, 0, 0, 64)};
  columns.insert(columns.end(), table.columns.begin(), table.columns.begin() + data_columns);
  return columns;
}

TEST(ChangeTableDdl, ExistingChangeTableIsEvolvedNotRecreated) {
  const event::TableMeta table = OrderLines("SHOP");
  // The change table lacks the last two columns of the (grown) source table.
  const std::vector<ColumnMeta> existing = ExistingColumns(table, 5);
  const TableName name{"SHOP", "ORDER_LINES"};
  const TableName change_table{"SHOP", "ORDER_LINES_CT"};
  const auto oracle = ChangeTableDdl(SqlDialect::kOracle, name, table, change_table, existing);
  ASSERT_EQ(oracle.size(), 3u);
  EXPECT_EQ(oracle[0].sql,
            "ALTER TABLE \"SHOP\".\"ORDER_LINES_CT\" ADD (\"CREATED_AT\" TIMESTAMP(6))");
  EXPECT_EQ(oracle[1].sql,
            "ALTER TABLE \"SHOP\".\"ORDER_LINES_CT\" ADD (\"SHIPPED_AT\" "
            "TIMESTAMP(6) WITH TIME ZONE)");
  EXPECT_NE(oracle[2].sql.find("CREATE OR REPLACE TRIGGER"), std::string::npos);
  EXPECT_NE(oracle[2].sql.find(":NEW.\"SHIPPED_AT\""), std::string::npos);

  const auto sqlite = ChangeTableDdl(SqlDialect::kSqlite, TableName{"main", "ORDER_LINES"}, table,
                                     TableName{"main", "ORDER_LINES_CT"}, existing);
  ASSERT_EQ(sqlite.size(), 10u);  // 2 ALTER, 4 DROP TRIGGER, 4 CREATE TRIGGER
  EXPECT_EQ(sqlite[1].sql,
            "ALTER TABLE \"main\".\"ORDER_LINES_CT\" ADD COLUMN \"SHIPPED_AT\" TIMESTAMPTZ");
  for (const DdlStatement& statement : sqlite) {
    EXPECT_EQ(statement.sql.find("CREATE TABLE"), std::string::npos);
  }
  // Nothing missing: only the triggers are replaced.
  const auto postgres =
      ChangeTableDdl(SqlDialect::kPostgres, TableName{"shop", "ORDER_LINES"}, table,
                     TableName{"shop", "ORDER_LINES_CT"}, ExistingColumns(table, 7));
  ASSERT_EQ(postgres.size(), 4u);  // function, REVOKE, DROP TRIGGER, CREATE TRIGGER
  EXPECT_NE(postgres[0].sql.find("CREATE OR REPLACE FUNCTION"), std::string::npos);
}

TEST(ChangeTableDdl, WidenedColumnsAreWidenedInTheChangeTable) {
  event::TableMeta table = OrderLines("shop");
  std::vector<ColumnMeta> existing = ExistingColumns(table, 7);
  existing[4 + 1].db_type = "integer";  // LINE_NO as it was
  table.columns[1].type = ColumnType::kInt64;
  table.columns[1].db_type = "bigint";  // LINE_NO now
  for (ColumnMeta& column : existing) {
    if (!column.db_type) column.db_type = ChangeColumnType(SqlDialect::kPostgres, column);
  }
  for (ColumnMeta& column : table.columns) {
    if (!column.db_type) column.db_type = ChangeColumnType(SqlDialect::kPostgres, column);
  }
  const auto postgres = ChangeTableDdl(SqlDialect::kPostgres, TableName{"shop", "ORDER_LINES"},
                                       table, TableName{"shop", "ORDER_LINES_CT"}, existing);
  ASSERT_EQ(postgres.size(), 5u);
  EXPECT_EQ(postgres[0].sql,
            "ALTER TABLE \"shop\".\"ORDER_LINES_CT\" ALTER COLUMN \"LINE_NO\" TYPE bigint USING "
            "CAST(\"LINE_NO\" AS bigint)");

  event::TableMeta oracle_table = OrderLines("SHOP");
  std::vector<ColumnMeta> oracle_existing = ExistingColumns(oracle_table, 7);
  oracle_table.columns[3].length = 400;  // NOTE: VARCHAR2(200) -> VARCHAR2(400)
  const auto oracle =
      ChangeTableDdl(SqlDialect::kOracle, TableName{"SHOP", "ORDER_LINES"}, oracle_table,
                     TableName{"SHOP", "ORDER_LINES_CT"}, oracle_existing);
  ASSERT_EQ(oracle.size(), 2u);
  EXPECT_EQ(oracle[0].sql,
            "ALTER TABLE \"SHOP\".\"ORDER_LINES_CT\" MODIFY (\"NOTE\" VARCHAR2(400 CHAR))");
}

TEST(ChangeTableDdl, RefusesNamesTheChangeTableCannotHold) {
  event::TableMeta table = OrderLines("shop");
  table.columns.push_back(Column("CDC_TS", ColumnType::kString));
  const TableName name{"shop", "ORDER_LINES"};
  try {
    ChangeTableDdl(SqlDialect::kPostgres, name, table, TableName{"shop", "ORDER_LINES_CT"});
    ADD_FAILURE() << "no refusal";
  } catch (const PermanentError& e) {
    EXPECT_EQ(e.code(), "NAME");
    EXPECT_NE(std::string(e.what()).find("column \"CDC_TS\" of shop.ORDER_LINES: the change "
                                         "table's metadata column has that name"),
              std::string::npos)
        << e.what();
  }
  table.columns.back().name = "cdc_ts";  // PostgreSQL: another name; SQLite: the same one
  EXPECT_NO_THROW(
      ChangeTableDdl(SqlDialect::kPostgres, name, table, TableName{"shop", "ORDER_LINES_CT"}));
  EXPECT_THROW(ChangeTableDdl(SqlDialect::kSqlite, name, table, TableName{"", "ORDER_LINES_CT"}),
               PermanentError);
  table.columns.pop_back();
  // PostgreSQL would truncate "<change table>_FN" past 63 bytes: refused, naming the limit.
  const std::string long_ct(61, 'c');
  try {
    ChangeTableDdl(SqlDialect::kPostgres, name, table, TableName{"shop", long_ct});
    ADD_FAILURE() << "no refusal";
  } catch (const PermanentError& e) {
    EXPECT_NE(std::string(e.what()).find(long_ct + "_TRG\" (for change table shop." + long_ct +
                                         "): 65 bytes, over postgres's limit of 63"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(ChangeTableDdl(SqlDialect::kOracle, name, table, TableName{"S", long_ct}));
  // 1597 columns + 4 metadata columns: over PostgreSQL's 1600.
  event::TableMeta wide = OrderLines("shop");
  while (wide.columns.size() < 1597) {
    wide.columns.push_back(Column("C" + std::to_string(wide.columns.size()), ColumnType::kInt64));
  }
  try {
    ChangeTableDdl(SqlDialect::kPostgres, name, wide, TableName{"shop", "ORDER_LINES_CT"});
    ADD_FAILURE() << "no refusal";
  } catch (const PermanentError& e) {
    EXPECT_NE(std::string(e.what()).find("shop.ORDER_LINES has 1597 columns: its change table "
                                         "would have 1601, over postgres's limit of 1600"),
              std::string::npos)
        << e.what();
  }
  wide.columns.pop_back();
  EXPECT_NO_THROW(
      ChangeTableDdl(SqlDialect::kPostgres, name, wide, TableName{"shop", "ORDER_LINES_CT"}));
}

// before_image: the old-image columns (same types) and an update's insert filling them from the
// old row; inserts, deletes and key changes as without it. Oracle's is reviewed in its golden.
TEST(ChangeTableDdl, BeforeImageRecordsTheOldImageOfUpdatesOnly) {
  const CaptureOptions before{.before_image = true};
  const TableName table{"SHOP", "ORDER_LINES"};
  const TableName change_table{"SHOP", "ORDER_LINES_CT"};
  const std::string oracle = DdlScript(
      SqlDialect::kOracle, table,
      ChangeTableDdl(SqlDialect::kOracle, table, OrderLines("SHOP"), change_table, {}, before));
  EXPECT_EQ(oracle, Golden("oracle_before_image.sql", oracle))
      << "regenerate with CDC_REGENERATE_GOLDEN=1";
  for (const SqlDialect dialect : {SqlDialect::kPostgres, SqlDialect::kSqlite}) {
    const auto statements =
        ChangeTableDdl(dialect, table, OrderLines("SHOP"), change_table, {}, before);
    const std::string create = statements.front().sql;
    EXPECT_NE(create.find("\"_cdc_old_AMOUNT\" " +
                          ChangeColumnType(dialect, OrderLines("SHOP").columns[2])),
              std::string::npos)
        << create;
    std::string triggers;  // every statement after the CREATE TABLE
    for (size_t i = 1; i < statements.size(); ++i) triggers += statements[i].sql + "\n";
    // Only the update that keeps its key names the old-image columns, taking OLD's values.
    size_t uses = 0;
    for (size_t at = triggers.find("\"_cdc_old_ORDER_ID\""); at != std::string::npos;
         at = triggers.find("\"_cdc_old_ORDER_ID\"", at + 1)) {
      ++uses;
    }
    EXPECT_EQ(uses, 1u) << triggers;
    EXPECT_NE(triggers.find("\"_cdc_old_SHIPPED_AT\") VALUES ('U'"), std::string::npos) << triggers;
    EXPECT_NE(triggers.find("NEW.\"SHIPPED_AT\", OLD.\"ORDER_ID\""), std::string::npos) << triggers;
  }
  // Turned on for an existing change table: the old-image columns are added, nothing dropped.
  std::vector<ColumnMeta> existing = OrderLines("SHOP").columns;
  const auto evolved = ChangeTableDdl(SqlDialect::kPostgres, table, OrderLines("SHOP"),
                                      change_table, existing, before);
  EXPECT_EQ(evolved[0].sql,
            "ALTER TABLE \"SHOP\".\"ORDER_LINES_CT\" ADD COLUMN \"_cdc_old_ORDER_ID\" BIGINT");
  EXPECT_EQ(evolved[6].sql.rfind("ALTER TABLE", 0), 0u);
  EXPECT_EQ(evolved[7].sql.rfind("CREATE OR REPLACE FUNCTION", 0), 0u);
  // It doubles the data columns: 798 + 798 + 4 fit PostgreSQL's 1600, 799 do not.
  event::TableMeta wide = OrderLines("shop");
  while (wide.columns.size() < 799) {
    wide.columns.push_back(Column("C" + std::to_string(wide.columns.size()), ColumnType::kInt64));
  }
  try {
    ChangeTableDdl(SqlDialect::kPostgres, table, wide, change_table, {}, before);
    ADD_FAILURE() << "no refusal";
  } catch (const PermanentError& e) {
    EXPECT_NE(std::string(e.what()).find("would have 1602 (before_image doubles them), over "
                                         "postgres's limit of 1600"),
              std::string::npos)
        << e.what();
  }
  wide.columns.pop_back();
  EXPECT_NO_THROW(ChangeTableDdl(SqlDialect::kPostgres, table, wide, change_table, {}, before));
}

// PostgreSQL's 8160-byte row limit: a change table whose widest row would pass it is refused
// (an independent tester's 520-bigint table refused every update once before_image doubled it).
TEST(ChangeTableDdl, PostgresRefusesChangeTablesWhoseRowsCanPassTheRowLimit) {
  auto bigints = [](size_t count) {
    event::TableMeta table;
    table.schema = "public";
    table.table = "wide";
    for (size_t i = 0; i < count; ++i) {
      ColumnMeta column = Column("c" + std::to_string(i), ColumnType::kInt64);
      column.db_type = "bigint";
      table.columns.push_back(column);
    }
    table.key = {0};
    return table;
  };
  const TableName name{"public", "wide"};
  const TableName ct{"public", "wide_CT"};
  const CaptureOptions before{.before_image = true};
  EXPECT_NO_THROW(ChangeTableDdl(SqlDialect::kPostgres, name, bigints(520), ct));
  try {
    ChangeTableDdl(SqlDialect::kPostgres, name, bigints(520), ct, {}, before);
    ADD_FAILURE() << "no refusal";
  } catch (const PermanentError& e) {
    EXPECT_NE(std::string(e.what()).find("public.wide: a row of its change table can take 8528 "
                                         "bytes (its 520 columns twice, with before_image, each "
                                         "at its widest), over PostgreSQL's row limit of 8160"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(ChangeTableDdl(SqlDialect::kPostgres, name, bigints(495), ct, {}, before));
  EXPECT_THROW(ChangeTableDdl(SqlDialect::kPostgres, name, bigints(1010), ct), PermanentError);
  // Text columns are moved out of the row by TOAST: 300 of them fit, twice.
  event::TableMeta texts = bigints(1);
  for (int i = 0; i < 150; ++i) {
    ColumnMeta column = Column("t" + std::to_string(i), ColumnType::kString);
    column.db_type = "text";
    texts.columns.push_back(column);
  }
  EXPECT_NO_THROW(ChangeTableDdl(SqlDialect::kPostgres, name, texts, ct, {}, before));
  // DDL for another database (no db_type) is not checked; SQLite has no such limit.
  EXPECT_NO_THROW(ChangeTableDdl(SqlDialect::kSqlite, name, bigints(900), ct, {}, before));
}

// Old-image column names fit the dialect's limit and stay distinct: "_cdc_old_" + the name, or
// the name cut at a character boundary with a hash of the whole name.
TEST(PostgresDdlGuard, LivesInItsOwnSchemaAndKnowsTheCaptureTriggersMarker) {
  const std::vector<DdlStatement> statements = PostgresDdlGuard();
  std::string all;
  for (const DdlStatement& statement : statements) all += statement.sql + "\n";
  EXPECT_NE(all.find("FUNCTION cdc_ddl_guard.facts(all_columns boolean)"), std::string::npos)
      << all;
  EXPECT_NE(all.find("REVOKE ALL ON SCHEMA cdc_ddl_guard FROM PUBLIC"), std::string::npos);
  for (const char* trigger :
       {"cdc_capture_guard ", "cdc_capture_guard_start ", "cdc_capture_guard_drop "}) {
    EXPECT_NE(all.find(std::string("CREATE EVENT TRIGGER ") + trigger), std::string::npos)
        << trigger;
    EXPECT_NE(all.find(std::string("ALTER EVENT TRIGGER ") + trigger + "ENABLE ALWAYS"),
              std::string::npos);
  }
  // The marker is the trigger's argument as pg_trigger.tgargs holds it: the text and a NUL.
  EXPECT_NE(all.find("decode('6364632d6361707475726500', 'hex')"), std::string::npos);
  EXPECT_EQ(all.find('\\'), std::string::npos);  // no backslash: no escape-string dependence
  event::TableMeta table;
  table.table = "t";
  table.columns.resize(1);
  table.columns[0].name = "id";
  table.key = {0};
  EXPECT_NE(
      ChangeTableDdl(SqlDialect::kPostgres, TableName{"s", "t"}, table, TableName{"s", "t_CT"})
          .back()
          .sql.find("('cdc-capture')"),
      std::string::npos);
}

TEST(OldImageColumn, FitsTheIdentifierLimitAndStaysDistinct) {
  EXPECT_EQ(OldImageColumn(SqlDialect::kPostgres, "AMOUNT"), "_cdc_old_AMOUNT");
  EXPECT_TRUE(IsOldImageColumn(OldImageColumn(SqlDialect::kPostgres, "AMOUNT")));
  EXPECT_FALSE(IsOldImageColumn("AMOUNT"));
  const std::string a(60, 'a');
  const std::string b = std::string(59, 'a') + "b";
  EXPECT_EQ(OldImageColumn(SqlDialect::kPostgres, a).size(), 63u);
  EXPECT_NE(OldImageColumn(SqlDialect::kPostgres, a), OldImageColumn(SqlDialect::kPostgres, b));
  EXPECT_EQ(OldImageColumn(SqlDialect::kSqlite, a), "_cdc_old_" + a);  // SQLite: no limit
  EXPECT_EQ(OldImageColumn(SqlDialect::kOracle, a), "_cdc_old_" + a);  // 69 of 128
  // 30 two-byte characters: never cut inside one.
  std::string umlauts;
  for (int i = 0; i < 30; ++i) umlauts += "\xc3\xa4";
  const std::string cut = OldImageColumn(SqlDialect::kPostgres, umlauts);
  EXPECT_LE(cut.size(), 63u);
  const std::string kept = cut.substr(9, cut.size() - 9 - 9);
  EXPECT_EQ(kept.size() % 2, 0u) << cut;
  EXPECT_EQ(umlauts.rfind(kept, 0), 0u);
}

TEST(ChangeColumnType, TheColumnsOwnTypeInItsOwnDatabase) {
  ColumnMeta column = Column("C", ColumnType::kOther);
  column.db_type = "interval day to second(2)";
  EXPECT_EQ(ChangeColumnType(SqlDialect::kPostgres, column), "interval day to second(2)");
  column.db_type = "money";  // kept as numeric: exact and readable in any lc_monetary
  EXPECT_EQ(ChangeColumnType(SqlDialect::kPostgres, column), "numeric");
  // SQLite: the declared type (same affinity), or its affinity when it is not plain.
  column.db_type = "VARCHAR(10)";
  EXPECT_EQ(ChangeColumnType(SqlDialect::kSqlite, column), "VARCHAR(10)");
  column.db_type = "INT UNSIGNED BIG";
  EXPECT_EQ(ChangeColumnType(SqlDialect::kSqlite, column), "INT UNSIGNED BIG");
  column.db_type = "x(1";
  EXPECT_EQ(ChangeColumnType(SqlDialect::kSqlite, column), "NUMERIC");
  column.db_type = "my text); DROP TABLE t; --";
  EXPECT_EQ(ChangeColumnType(SqlDialect::kSqlite, column), "TEXT");
  column.db_type = "not null";
  EXPECT_EQ(ChangeColumnType(SqlDialect::kSqlite, column), "NUMERIC");
  // DDL for another database (no db_type): the contract type's equivalent.
  column.db_type = "";  // SQLite: no declared type
  EXPECT_EQ(ChangeColumnType(SqlDialect::kSqlite, column), "");
  column.db_type.reset();
  EXPECT_EQ(ChangeColumnType(SqlDialect::kPostgres, column), "TEXT");
}

}  // namespace
}  // namespace cdc::producer
