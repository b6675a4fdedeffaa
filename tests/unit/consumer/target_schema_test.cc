#include "consumer/target_schema.h"

#include <gtest/gtest.h>

namespace cdc::consumer {
namespace {

event::TableMeta Orders() {
  event::TableMeta table;
  table.schema = "SHOP";
  table.table = "ORDERS";
  table.columns.push_back({"ID", event::ColumnType::kInt64, 0, 0, 0, false, -5, {}});
  table.columns.push_back({"NOTE", event::ColumnType::kString, 0, 0, 40, true, 12, {}});
  table.columns.push_back({"AMOUNT", event::ColumnType::kDecimal, 12, 2, 0, true, 3, {}});
  table.key = {0};
  return table;
}

TEST(TargetSchema, CreateStatementHasContractTypesMetadataAndKey) {
  const std::vector<std::string> sql = CreateTableSql("replica", "orders", Orders(), true);
  ASSERT_EQ(sql.size(), 2u);
  const std::string create =
      "CREATE TABLE IF NOT EXISTS \"replica\".\"orders\" (\n"
      "  \"id\" bigint NOT NULL,\n"
      "  \"note\" character varying(40),\n"
      "  \"amount\" numeric(12,2),\n"
      "  \"_cdc_seq\" bigint NOT NULL,\n"
      "  \"_cdc_op\" char(1) NOT NULL,\n"
      "  \"_cdc_source_ts\" timestamptz,\n"
      "  \"_cdc_applied_at\" timestamptz NOT NULL DEFAULT now(),\n"
      "  \"_cdc_deleted_at\" timestamptz,\n"
      "  PRIMARY KEY (\"id\")\n)";
  EXPECT_EQ(sql[0], create);
  EXPECT_EQ(sql[1],
            "CREATE INDEX IF NOT EXISTS \"orders__cdc_seq\" ON \"replica\".\"orders\" "
            "(\"_cdc_seq\")");
  // Without the change feed: no index on _cdc_seq (updates can be HOT), room on every page.
  EXPECT_EQ(CreateTableSql("replica", "orders", Orders(), false),
            std::vector<std::string>{create + " WITH (fillfactor = 85)"});
  EXPECT_EQ(ChangeFeedIndexName(std::string(63, 'x')), std::string(50, 'x') + "__cdc_seq");
}

TEST(TargetSchema, TypeFitTable) {
  EXPECT_EQ(CompareTypes("integer", "integer"), TypeFit::kSame);
  EXPECT_EQ(CompareTypes("integer", "bigint"), TypeFit::kFits);
  EXPECT_EQ(CompareTypes("bigint", "integer"), TypeFit::kWiden);
  EXPECT_EQ(CompareTypes("character varying(10)", "character varying(40)"), TypeFit::kFits);
  EXPECT_EQ(CompareTypes("character varying(80)", "character varying(40)"), TypeFit::kWiden);
  EXPECT_EQ(CompareTypes("text", "character varying(40)"), TypeFit::kWiden);
  EXPECT_EQ(CompareTypes("character varying(10)", "text"), TypeFit::kFits);
  EXPECT_EQ(CompareTypes("numeric(10,2)", "numeric(12,2)"), TypeFit::kFits);
  EXPECT_EQ(CompareTypes("numeric(14,2)", "numeric(12,2)"), TypeFit::kWiden);
  // A scale change never rounds: the target takes the larger scale and the more integer digits.
  EXPECT_EQ(CompareTypes("numeric(12,3)", "numeric(12,2)"), TypeFit::kWiden);
  EXPECT_EQ(WidenedType("numeric(12,3)", "numeric(12,2)"), "numeric(13,3)");
  EXPECT_EQ(WidenedType("numeric(10,4)", "numeric(5,2)"), "numeric(10,4)");
  EXPECT_EQ(WidenedType("numeric(8,4)", "numeric(10,2)"), "numeric(12,4)");
  EXPECT_EQ(CompareTypes("numeric(10,2)", "numeric(12,4)"), TypeFit::kFits);
  EXPECT_EQ(CompareTypes("numeric(1000,0)", "numeric(1000,999)"), TypeFit::kIncompatible);
  EXPECT_EQ(WidenedType("bigint", "integer"), "bigint");
  EXPECT_EQ(CompareTypes("numeric(12,3)", "numeric"), TypeFit::kFits);
  EXPECT_EQ(CompareTypes("character varying(10)", "integer"), TypeFit::kIncompatible);
  EXPECT_EQ(CompareTypes("real", "double precision"), TypeFit::kFits);
  EXPECT_EQ(CompareTypes("boolean", "integer"), TypeFit::kIncompatible);
}

TEST(TargetSchema, EvolutionAddsColumnsWidensAndRefusesIncompatibleChanges) {
  TargetTable existing = TargetFor("replica", "orders", Orders());
  EXPECT_TRUE(PlanEvolution(existing, Orders()).statements.empty());
  EXPECT_FALSE(PlanEvolution(existing, Orders()).incompatible);

  event::TableMeta added = Orders();
  added.columns.push_back({"COLOR", event::ColumnType::kString, 0, 0, 10, false, 12, {}});
  added.columns[1].length = 80;
  const EvolutionPlan plan = PlanEvolution(existing, added);
  ASSERT_FALSE(plan.incompatible);
  EXPECT_EQ(
      plan.statements,
      (std::vector<std::string>{
          "ALTER TABLE \"replica\".\"orders\" ALTER COLUMN \"note\" TYPE character varying(80)",
          "ALTER TABLE \"replica\".\"orders\" ADD COLUMN IF NOT EXISTS \"color\" "
          "character varying(10)"}));

  // A scale change (numeric(12,2) -> numeric(12,4)) widens to hold every value of both.
  event::TableMeta rescaled = Orders();
  rescaled.columns[2].scale = 4;
  EXPECT_FALSE(PlanEvolution(existing, rescaled).incompatible);
  EXPECT_EQ(PlanEvolution(existing, rescaled).statements,
            (std::vector<std::string>{"ALTER TABLE \"replica\".\"orders\" ALTER COLUMN "
                                      "\"amount\" TYPE numeric(14,4)"}));
  event::TableMeta retyped = Orders();
  retyped.columns[2].type = event::ColumnType::kBoolean;
  EXPECT_EQ(*PlanEvolution(existing, retyped).incompatible,
            "column amount changed type from numeric(12,2) to boolean");

  event::TableMeta rekeyed = Orders();
  rekeyed.key = {1};
  EXPECT_EQ(*PlanEvolution(existing, rekeyed).incompatible,
            "primary key changed from (id) to (note)");

  // An older writer without a nullable column still applies; without a NOT NULL one it cannot,
  // unless the NOT NULL is the source's (a replay meets events recorded before the source added
  // the column): then the column drops it.
  event::TableMeta older = Orders();
  older.columns.pop_back();
  EXPECT_FALSE(PlanEvolution(existing, older).incompatible);
  EXPECT_TRUE(PlanEvolution(existing, older).statements.empty());
  existing.columns.push_back({"qty", "integer", true});
  EXPECT_EQ(*PlanEvolution(existing, Orders()).incompatible,
            "column qty (NOT NULL) is missing from the event's schema");
  existing.source_not_null = {"qty"};
  const EvolutionPlan dropped = PlanEvolution(existing, Orders());
  EXPECT_FALSE(dropped.incompatible);
  EXPECT_EQ(dropped.statements,
            (std::vector<std::string>{
                "ALTER TABLE \"replica\".\"orders\" ALTER COLUMN \"qty\" DROP NOT NULL"}));
  EXPECT_TRUE(dropped.source_not_null.empty());
}

TEST(TargetSchema, NotNullColumnsFollowTheSchema) {
  event::TableMeta strict = Orders();
  strict.columns[1].nullable = false;  // NOTE NOT NULL at the source
  const std::vector<std::string> sql = CreateTableSql("replica", "orders", strict, false);
  EXPECT_NE(sql[0].find("\"note\" character varying(40) NOT NULL,"), std::string::npos) << sql[0];
  TargetTable existing = TargetFor("replica", "orders", strict);
  EXPECT_EQ(existing.source_not_null, std::vector<std::string>{"note"});
  EXPECT_TRUE(PlanEvolution(existing, strict).statements.empty());
  EXPECT_EQ(PlanEvolution(existing, strict).source_not_null, std::vector<std::string>{"note"});
  // The source relaxed it (or a change held a NULL): the replica follows; the key never does.
  event::TableMeta relaxed = strict;
  relaxed.columns[1].nullable = true;
  relaxed.columns[0].nullable = true;  // a key published as ["null", T] stays the key
  const EvolutionPlan plan = PlanEvolution(existing, relaxed);
  EXPECT_EQ(plan.statements,
            (std::vector<std::string>{
                "ALTER TABLE \"replica\".\"orders\" ALTER COLUMN \"note\" DROP NOT NULL"}));
  EXPECT_TRUE(plan.source_not_null.empty());
  // A NOT NULL an operator added to the replica is theirs: it stays.
  existing.source_not_null.clear();
  EXPECT_TRUE(PlanEvolution(existing, relaxed).statements.empty());
}

}  // namespace
}  // namespace cdc::consumer
