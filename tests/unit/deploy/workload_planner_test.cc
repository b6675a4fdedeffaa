// The workload generator's planner: the mix it promises, keys that always exist when updated or
// deleted, never reused when inserted, and a resumed planner that continues after loaded keys.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "deploy/workload/planner.h"

namespace cdc::workload {
namespace {

// Replays the planner's changes on a model of the keys per table and checks each one.
struct KeyModel {
  std::map<std::string, std::set<std::vector<std::string>>> keys;
  std::map<char, int> ops;

  // The key parameters of a change: inserts lead with the key, the others end with it.
  static std::vector<std::string> KeyOf(const Change& change, size_t key_size, bool leading) {
    std::vector<std::string> key;
    const size_t first = leading ? 0 : change.params.size() - key_size;
    for (size_t i = first; i < first + key_size; ++i) key.push_back(change.params.at(i).value());
    return key;
  }
};

size_t KeySize(const std::string& table) { return table == "ORDER_LINES" ? 2 : 1; }

TEST(WorkloadPlanner, DemoMixTouchesOnlyExistingKeysAndNeverReusesOne) {
  std::unique_ptr<Planner> planner = MakePlanner("demo", 42);
  ASSERT_NE(planner, nullptr);
  KeyModel model;
  std::set<std::pair<std::string, std::vector<std::string>>> ever;
  constexpr int kChanges = 20000;
  for (int i = 0; i < kChanges; ++i) {
    const Change change = planner->Next();
    const StatementSpec& spec = planner->statements().at(change.statement);
    const size_t key_size = KeySize(spec.table);
    auto& keys = model.keys[spec.table];
    ++model.ops[static_cast<char>(spec.op)];
    if (spec.op == Op::kInsert) {
      const auto key = KeyModel::KeyOf(change, key_size, true);
      EXPECT_TRUE(ever.insert({spec.table, key}).second) << spec.table << " key reused";
      keys.insert(key);
    } else if (spec.op == Op::kKeyChange) {
      // SET <new key part> WHERE <old key>: the new value replaces the key's last part.
      auto old_key = KeyModel::KeyOf(change, key_size, false);
      ASSERT_EQ(keys.erase(old_key), 1u) << spec.table << " key change of a missing row";
      auto new_key = old_key;
      new_key.back() = change.params.at(0).value();
      EXPECT_TRUE(ever.insert({spec.table, new_key}).second) << spec.table << " key reused";
      keys.insert(new_key);
    } else {
      const auto key = KeyModel::KeyOf(change, key_size, false);
      ASSERT_EQ(keys.count(key), 1u) << spec.table << " change of a missing row";
      if (spec.op == Op::kDelete) keys.erase(key);
    }
  }
  // 35% inserts, 45% updates, 5% key changes (on two of four tables), 15% deletes, +- noise
  // (an empty table turns the first changes into inserts).
  EXPECT_NEAR(model.ops['I'] / double(kChanges), 0.35, 0.03);
  EXPECT_NEAR(model.ops['D'] / double(kChanges), 0.15, 0.03);
  EXPECT_GT(model.ops['K'], kChanges / 100);
  EXPECT_EQ(model.keys.size(), 4u);
  for (const auto& [table, count] : planner->row_counts()) {
    EXPECT_EQ(count, model.keys[table].size()) << table;
  }
}

TEST(WorkloadPlanner, BenchMixIsSixtyPercentUpdatesAndTenPercentDeletes) {
  std::unique_ptr<Planner> planner = MakePlanner("bench", 7);
  ASSERT_NE(planner, nullptr);
  std::map<Op, int> ops;
  constexpr int kChanges = 50000;
  for (int i = 0; i < kChanges; ++i) {
    const Change change = planner->Next();
    const StatementSpec& spec = planner->statements().at(change.statement);
    ++ops[spec.op];
    EXPECT_EQ(spec.table, "ITEMS");
  }
  EXPECT_NEAR(ops[Op::kUpdate] / double(kChanges), 0.60, 0.02);
  EXPECT_NEAR(ops[Op::kDelete] / double(kChanges), 0.10, 0.02);
  EXPECT_EQ(ops[Op::kKeyChange], 0);
}

TEST(WorkloadPlanner, ResumedPlannerContinuesAfterTheLoadedKeys) {
  std::unique_ptr<Planner> planner = MakePlanner("bench", 1);
  planner->Load("ITEMS", {{5}, {9}, {100}});
  EXPECT_EQ(planner->row_counts().at("ITEMS"), 3u);
  std::set<std::string> touched;
  for (int i = 0; i < 200; ++i) {
    const Change change = planner->Next();
    const StatementSpec& spec = planner->statements().at(change.statement);
    if (spec.op == Op::kInsert) {
      EXPECT_GT(std::stoll(change.params.at(0).value()), 100) << "reused a loaded key";
    } else {
      touched.insert(change.params.back().value());
    }
  }
  EXPECT_TRUE(touched.count("5") || touched.count("9") || touched.count("100"));
}

TEST(WorkloadPlanner, UnknownSchemaIsRejected) { EXPECT_EQ(MakePlanner("nope", 1), nullptr); }

}  // namespace
}  // namespace cdc::workload
