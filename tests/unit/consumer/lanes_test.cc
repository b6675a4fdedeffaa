// Partition-to-lane assignment: stable, in range, and spreading a topic's partitions evenly.
#include <gtest/gtest.h>

#include <vector>

#include "consumer/consumer_loop.h"

namespace cdc::consumer {
namespace {

TEST(LaneOf, SpreadsATopicsPartitionsRoundRobin) {
  for (const size_t lanes : {1u, 2u, 3u, 8u}) {
    std::vector<int> per_lane(lanes, 0);
    for (int32_t partition = 0; partition < 64; ++partition) {
      const size_t lane = LaneOf("cdc.SHOP.ORDERS", partition, lanes);
      ASSERT_LT(lane, lanes);
      ++per_lane[lane];
      // Neighbouring partitions go to neighbouring lanes.
      EXPECT_EQ(LaneOf("cdc.SHOP.ORDERS", partition + 1, lanes), (lane + 1) % lanes);
    }
    for (const int count : per_lane) {
      EXPECT_GE(count, 64 / static_cast<int>(lanes));
      EXPECT_LE(count, 64 / static_cast<int>(lanes) + 1);
    }
  }
}

TEST(LaneOf, IsStableForAPartition) {
  EXPECT_EQ(LaneOf("cdc.SHOP.ORDERS", 5, 4), LaneOf("cdc.SHOP.ORDERS", 5, 4));
  EXPECT_EQ(LaneOf("any", 7, 1), 0u);
}

}  // namespace
}  // namespace cdc::consumer
