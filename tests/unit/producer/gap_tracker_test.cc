#include "producer/gap_tracker.h"

#include <gtest/gtest.h>

namespace cdc::producer {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(GapTracker, ContiguousSequenceAdvancesWatermark) {
  ManualClock clock;
  GapTracker tracker(0, seconds(30), clock);
  for (int64_t seq = 1; seq <= 5; ++seq) EXPECT_TRUE(tracker.Accept(seq));
  EXPECT_EQ(tracker.watermark(), 5);
  EXPECT_EQ(tracker.high(), 5);
  EXPECT_EQ(tracker.pending_gap_count(), 0u);
}

TEST(GapTracker, HoldsPositionUntilGapFills) {
  ManualClock clock;
  GapTracker tracker(10, seconds(30), clock);
  EXPECT_TRUE(tracker.Accept(11));
  EXPECT_TRUE(tracker.Accept(14));  // 12 and 13 not committed yet
  EXPECT_EQ(tracker.watermark(), 11);
  EXPECT_EQ(tracker.PendingGaps(10), (std::vector<SeqRange>{{12, 13}}));
  EXPECT_TRUE(tracker.Accept(13));
  EXPECT_EQ(tracker.watermark(), 11);
  EXPECT_EQ(tracker.PendingGaps(10), (std::vector<SeqRange>{{12, 12}}));
  EXPECT_TRUE(tracker.Accept(12));
  EXPECT_EQ(tracker.watermark(), 14);
  EXPECT_EQ(tracker.pending_gap_count(), 0u);
}

TEST(GapTracker, PublishesEachSequenceOnce) {
  ManualClock clock;
  GapTracker tracker(0, seconds(30), clock);
  EXPECT_TRUE(tracker.Accept(1));
  EXPECT_TRUE(tracker.Accept(3));
  EXPECT_FALSE(tracker.Accept(1));  // at or below the watermark
  EXPECT_FALSE(tracker.Accept(3));  // already seen above a gap
  EXPECT_TRUE(tracker.Accept(2));
  EXPECT_FALSE(tracker.Accept(2));
}

TEST(GapTracker, FillInTheMiddleSplitsAGap) {
  ManualClock clock;
  GapTracker tracker(0, seconds(30), clock);
  EXPECT_TRUE(tracker.Accept(10));
  EXPECT_TRUE(tracker.Accept(5));
  EXPECT_EQ(tracker.PendingGaps(10), (std::vector<SeqRange>{{1, 4}, {6, 9}}));
  EXPECT_EQ(tracker.pending_seq_count(), 8);
  EXPECT_EQ(tracker.PendingGaps(1), (std::vector<SeqRange>{{1, 4}}));
}

TEST(GapTracker, GapThatNeverFillsIsGivenUpAfterTimeout) {
  ManualClock clock;
  GapTracker tracker(0, seconds(30), clock);
  EXPECT_TRUE(tracker.Accept(1));
  EXPECT_TRUE(tracker.Accept(3));  // 2 rolled back
  clock.Advance(seconds(29));
  EXPECT_TRUE(tracker.ExpireGaps().empty());
  EXPECT_EQ(tracker.watermark(), 1);
  clock.Advance(seconds(1));
  EXPECT_EQ(tracker.ExpireGaps(), (std::vector<SeqRange>{{2, 2}}));
  EXPECT_EQ(tracker.watermark(), 3);
  EXPECT_FALSE(tracker.Accept(2));  // too late: given up
  EXPECT_TRUE(tracker.Accept(4));
  EXPECT_EQ(tracker.watermark(), 4);
}

TEST(GapTracker, EachGapHasItsOwnClock) {
  ManualClock clock;
  GapTracker tracker(0, seconds(10), clock);
  EXPECT_TRUE(tracker.Accept(2));  // gap {1} noticed at t=0
  clock.Advance(seconds(6));
  EXPECT_TRUE(tracker.Accept(4));  // gap {3} noticed at t=6
  clock.Advance(seconds(5));
  EXPECT_EQ(tracker.ExpireGaps(), (std::vector<SeqRange>{{1, 1}}));
  EXPECT_EQ(tracker.watermark(), 2);
  clock.Advance(seconds(5));
  EXPECT_EQ(tracker.ExpireGaps(), (std::vector<SeqRange>{{3, 3}}));
  EXPECT_EQ(tracker.watermark(), 4);
}

TEST(GapTracker, SplitGapKeepsItsOriginalTime) {
  ManualClock clock;
  GapTracker tracker(0, seconds(10), clock);
  EXPECT_TRUE(tracker.Accept(5));  // gap 1..4 at t=0
  clock.Advance(seconds(8));
  EXPECT_TRUE(tracker.Accept(2));  // splits into {1} and {3,4}, both from t=0
  clock.Advance(seconds(2));
  EXPECT_EQ(tracker.ExpireGaps(), (std::vector<SeqRange>{{1, 1}, {3, 4}}));
  EXPECT_EQ(tracker.watermark(), 5);
}

TEST(GapTracker, StartsFromCheckpoint) {
  ManualClock clock;
  GapTracker tracker(1000, seconds(30), clock);
  EXPECT_FALSE(tracker.Accept(999));
  EXPECT_TRUE(tracker.Accept(1001));
  EXPECT_EQ(tracker.watermark(), 1001);
}

}  // namespace
}  // namespace cdc::producer
