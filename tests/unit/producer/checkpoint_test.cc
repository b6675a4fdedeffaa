// Checkpoint records (producer/checkpoint.h) and the content hash stored in their tips
// (producer/confirmed_check.h).
#include "producer/checkpoint.h"

#include <gtest/gtest.h>

#include "producer/confirmed_check.h"

namespace cdc::producer {
namespace {

TEST(Checkpoint, RoundTripsThroughJson) {
  TablePosition position;
  position.watermark = 42;
  position.high = 50;
  position.gaps = {{43, 44}, {47, 47}};
  position.snapshot = {SnapshotPosition::State::kRunning, 1733, true,
                       KeysetPosition{"7", std::nullopt}, 5};
  event::TableMeta table;
  table.columns.resize(2);
  table.columns[0].name = "ID";
  table.columns[1].name = "NOTE";
  position.columns = ColumnsFingerprint(table);
  for (const std::vector<std::string>& not_null :
       {std::vector<std::string>{}, std::vector<std::string>{"ID", "NOTE"}}) {
    position.not_null = not_null;
    // The tips keep every bit of the 64-bit content hash.
    position.tips = {{0, {17, 0xfedcba9876543210ULL}}, {7, {0, 1}}};
    const std::string json = EncodeCheckpoint("p", "SHOP.ORDERS", position, "2026-11-21T00:00:00Z");
    const std::optional<TablePosition> decoded = DecodeCheckpoint(json);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, position);
  }
  EXPECT_FALSE(DecodeCheckpoint("{\"watermark\":\"x\"}"));
  EXPECT_FALSE(DecodeCheckpoint("not json"));
  EXPECT_EQ(CheckpointKey("p", "SHOP.ORDERS"), "p/SHOP.ORDERS");
  EXPECT_FALSE(DecodeCheckpoint(R"({"watermark":1,"gaps":[[2]],"snapshot":{}})"));
  EXPECT_FALSE(DecodeCheckpoint(R"({"watermark":1,"tips":[[0,1]],"snapshot":{}})"));
  EXPECT_FALSE(DecodeCheckpoint(R"({"watermark":1,"tips":[[0,1,-1]],"snapshot":{}})"));
  // A record from before "high": everything above its watermark is read again (its snapshot's
  // old hand-off number is not trusted to mean "published").
  const std::optional<TablePosition> old = DecodeCheckpoint(
      R"({"watermark":0,"snapshot":{"state":"running","handoff":900,"rows":10,"after_key":["4"]}})");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->high, 0);
  EXPECT_TRUE(old->gaps.empty());
  EXPECT_EQ(old->snapshot.state, SnapshotPosition::State::kRunning);
  EXPECT_TRUE(old->columns.empty());  // not recorded: the next start records them, no backfill
  // Its fields were all published nullable, and stay so.
  EXPECT_EQ(old->not_null, std::vector<std::string>{});
  // The fingerprint follows the names: an added column, a rename, a name split differently.
  event::TableMeta added = table;
  added.columns.emplace_back().name = "COLOR";
  event::TableMeta renamed = table;
  renamed.columns[1].name = "NOTES";
  event::TableMeta split = table;
  split.columns[0].name = "IDN";
  split.columns[1].name = "OTE";
  EXPECT_EQ(ColumnsFingerprint(table).size(), 16u);
  EXPECT_NE(ColumnsFingerprint(added), ColumnsFingerprint(table));
  EXPECT_NE(ColumnsFingerprint(renamed), ColumnsFingerprint(table));
  EXPECT_NE(ColumnsFingerprint(split), ColumnsFingerprint(table));
  event::TableMeta rescaled = table;
  rescaled.columns[1].scale = 4;
  EXPECT_NE(ColumnsFingerprint(rescaled), ColumnsFingerprint(table));
  event::TableMeta longer = table;
  longer.columns[1].length = 400;  // a wider text changes no value
  EXPECT_EQ(ColumnsFingerprint(longer), ColumnsFingerprint(table));
}

// Stored with checkpoints and compared by the next run: the hash must never change. The two
// values agree with an independent MurmurHash64A (Python, little-endian); a different one means
// records written before would read as lost.
TEST(ContentHash, IsStableAndCoversKeyValueAndTheirBoundary) {
  EXPECT_EQ(ContentHash(std::nullopt, std::nullopt), ContentHash("", ""));
  EXPECT_EQ(ContentHash("key", "value"), ContentHash("key", "value"));
  EXPECT_NE(ContentHash("key", "value"), ContentHash("key", "valuf"));
  EXPECT_NE(ContentHash("key", "value"), ContentHash("kez", "value"));
  EXPECT_NE(ContentHash("ab", "c"), ContentHash("a", "bc"));
  EXPECT_NE(ContentHash("key", std::string(9, 'x')), ContentHash("key", std::string(10, 'x')));
  EXPECT_EQ(ContentHash("key", "value"), 17356235132720230645ULL);
  EXPECT_EQ(ContentHash("", "a longer value of 33 bytes, more."), 6192536167448424521ULL);
}

}  // namespace
}  // namespace cdc::producer
