#include "producer/gap_tracker.h"

#include <gtest/gtest.h>

#include <limits>

namespace cdc::producer {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// One read covering every pending gap, started now, that found nothing in them.
void CheckAll(GapTracker& tracker, const ManualClock& clock) {
  tracker.Checked(tracker.GapsToCheck(1000), std::numeric_limits<int64_t>::max(), clock.Now());
}

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
  CheckAll(tracker, clock);
  EXPECT_TRUE(tracker.ExpireGaps().empty());
  EXPECT_EQ(tracker.watermark(), 1);
  clock.Advance(seconds(1));
  EXPECT_TRUE(tracker.ExpireGaps().empty());  // not read since the timeout passed
  CheckAll(tracker, clock);
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
  CheckAll(tracker, clock);
  EXPECT_EQ(tracker.ExpireGaps(), (std::vector<SeqRange>{{1, 1}}));
  EXPECT_EQ(tracker.watermark(), 2);
  clock.Advance(seconds(5));
  CheckAll(tracker, clock);
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
  CheckAll(tracker, clock);
  EXPECT_EQ(tracker.ExpireGaps(), (std::vector<SeqRange>{{1, 1}, {3, 4}}));
  EXPECT_EQ(tracker.watermark(), 5);
}

// The failure this guards against: more never-filling gaps than one read covers (16) ahead of one
// that commits late. Reads covering only the lowest gaps would never look at the last one, and it
// would be given up with the others - a committed row lost.
TEST(GapTracker, ReadsTakeTurnsSoNoGapExpiresUnread) {
  ManualClock clock;
  GapTracker tracker(0, seconds(10), clock);
  for (int64_t seq = 1; seq <= 9; seq += 2) EXPECT_TRUE(tracker.Accept(seq));  // gaps 2,4,6,8
  EXPECT_EQ(tracker.GapsToCheck(2), (std::vector<SeqRange>{{2, 2}, {4, 4}}));
  tracker.Checked({{2, 2}, {4, 4}}, 4, clock.Now());
  EXPECT_EQ(tracker.GapsToCheck(2), (std::vector<SeqRange>{{6, 6}, {8, 8}}));
  clock.Advance(seconds(10));
  // A late read of 2 and 4 gives up only those two; 6 and 8 were never read after the timeout.
  const std::vector<SeqRange> first = tracker.GapsToCheck(2);
  EXPECT_EQ(first, (std::vector<SeqRange>{{6, 6}, {8, 8}}));  // never checked: read first
  EXPECT_TRUE(tracker.Accept(8));                             // committed late, found now
  tracker.Checked(first, 8, clock.Now());
  EXPECT_EQ(tracker.ExpireGaps(), (std::vector<SeqRange>{{6, 6}}));
  EXPECT_EQ(tracker.GapsToCheck(2), (std::vector<SeqRange>{{2, 2}, {4, 4}}));
  tracker.Checked({{2, 2}, {4, 4}}, 4, clock.Now());
  EXPECT_EQ(tracker.ExpireGaps(), (std::vector<SeqRange>{{2, 2}, {4, 4}}));
  EXPECT_EQ(tracker.watermark(), 9);
}

TEST(GapTracker, ReadCutShortByItsLimitChecksOnlyUpToItsLastRow) {
  ManualClock clock;
  GapTracker tracker(0, seconds(10), clock);
  EXPECT_TRUE(tracker.Accept(10));  // gap 1..9
  EXPECT_TRUE(tracker.Accept(20));  // gap 11..19
  clock.Advance(seconds(10));
  const std::vector<SeqRange> ranges = tracker.GapsToCheck(16);
  EXPECT_TRUE(tracker.Accept(3));
  EXPECT_TRUE(tracker.Accept(12));  // the read's row limit ended here
  tracker.Checked(ranges, 12, clock.Now());
  // {1,2} and {4..9} were fully read, {11} too; {13..19} was not.
  EXPECT_EQ(tracker.ExpireGaps(), (std::vector<SeqRange>{{1, 2}, {4, 9}, {11, 11}}));
  EXPECT_EQ(tracker.PendingGaps(10), (std::vector<SeqRange>{{13, 19}}));
  EXPECT_EQ(tracker.watermark(), 12);
}

TEST(GapTracker, WithAHorizonAGapWaitsForItsTransactionsNotForTheTimeout) {
  ManualClock clock;
  GapTracker tracker(0, seconds(30), clock);
  EXPECT_TRUE(tracker.Accept(1));
  EXPECT_TRUE(tracker.Accept(3));      // gap {2}: a transaction still open, or rolled back
  tracker.ObserveHorizon({100, 105});  // taken after the read that noticed it: mark 105
  EXPECT_TRUE(tracker.uses_horizon());
  clock.Advance(std::chrono::hours(2));  // a two-hour batch job
  tracker.ObserveHorizon({104, 120});    // transaction 104 (older than the mark) still open
  CheckAll(tracker, clock);
  EXPECT_TRUE(tracker.ExpireGaps().empty());
  EXPECT_EQ(tracker.OverdueGaps(), (std::vector<SeqRange>{{2, 2}}));
  EXPECT_TRUE(tracker.OverdueGaps().empty());  // reported once
  EXPECT_TRUE(tracker.Accept(2));              // it commits: published, not lost
  EXPECT_EQ(tracker.watermark(), 3);
}

TEST(GapTracker, WithAHorizonAGapIsGivenUpByTheFirstReadAfterItsTransactionsEnded) {
  ManualClock clock;
  GapTracker tracker(0, seconds(30), clock);
  EXPECT_TRUE(tracker.Accept(1));
  EXPECT_TRUE(tracker.Accept(4));    // gap {2,3}
  tracker.ObserveHorizon({50, 60});  // mark 60
  EXPECT_TRUE(tracker.Accept(6));    // gap {5}, noticed after that horizon: no mark yet
  CheckAll(tracker, clock);
  EXPECT_TRUE(tracker.ExpireGaps().empty());
  tracker.ObserveHorizon({60, 61});           // everything before 60 ended; {5} takes mark 61
  EXPECT_TRUE(tracker.ExpireGaps().empty());  // final, but not read since: a row may be there
  const std::vector<SeqRange> ranges = tracker.GapsToCheck(16);
  EXPECT_TRUE(tracker.Accept(3));  // committed just before it ended
  tracker.Checked(ranges, std::numeric_limits<int64_t>::max(), clock.Now());
  EXPECT_EQ(tracker.ExpireGaps(), (std::vector<SeqRange>{{2, 2}}));
  EXPECT_EQ(tracker.watermark(), 4);
  EXPECT_EQ(tracker.PendingGaps(10), (std::vector<SeqRange>{{5, 5}}));  // 61 not reached yet
  tracker.ObserveHorizon({61, 61});
  CheckAll(tracker, clock);
  EXPECT_EQ(tracker.ExpireGaps(), (std::vector<SeqRange>{{5, 5}}));
  EXPECT_EQ(tracker.watermark(), 6);
}

TEST(GapTracker, DroppingTheHorizonFallsBackToTheTimeout) {
  ManualClock clock;
  GapTracker tracker(0, seconds(30), clock);
  EXPECT_TRUE(tracker.Accept(2));
  tracker.ObserveHorizon({10, 11});
  clock.Advance(seconds(30));
  CheckAll(tracker, clock);
  EXPECT_TRUE(tracker.ExpireGaps().empty());
  tracker.DropHorizon();
  EXPECT_FALSE(tracker.uses_horizon());
  EXPECT_EQ(tracker.ExpireGaps(), (std::vector<SeqRange>{{1, 1}}));
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
