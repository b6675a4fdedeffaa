#include "producer/gap_tracker.h"

#include <gtest/gtest.h>

#include <limits>

#include "common/error.h"

namespace cdc::producer {
namespace {

using std::chrono::seconds;
constexpr int64_t kAll = std::numeric_limits<int64_t>::max();

GapTracker Tracker(const ManualClock& clock, GapRule rule = GapRule::kTimeout,
                   TrackedPosition start = {}, seconds timeout = seconds(30)) {
  return GapTracker(start, rule, timeout, clock);
}

// A PostgreSQL-style horizon: mark `next`, xmax `complete_below`, open xids `open`.
TxHorizon Horizon(std::optional<int64_t> next, int64_t complete_below, std::vector<int64_t> open) {
  return TxHorizon{next, complete_below, std::move(open)};
}

// One poll as TableStream runs it: plan, "read" `found` (rows the read returned), the horizon
// after the read, accept what SafeThrough allows, record the read, observe the horizon, expire.
// Returns the rows accepted.
std::vector<int64_t> Poll(GapTracker& tracker, const ManualClock& clock,
                          const std::vector<int64_t>& found,
                          const std::optional<TxHorizon>& after = std::nullopt,
                          std::vector<SeqRange>* expired = nullptr) {
  const ReadPlan plan = tracker.PlanRead(16, 1000);
  const int64_t through = tracker.SafeThrough(plan, after);
  std::vector<int64_t> accepted;
  for (int64_t seq : found) {
    if (seq <= through && tracker.Accept(seq)) accepted.push_back(seq);
  }
  tracker.Checked(plan, through, clock.Now());
  if (after) tracker.ObserveHorizon(*after);
  std::vector<SeqRange> gone = tracker.ExpireGaps();
  if (expired) *expired = gone;
  return accepted;
}

TEST(GapTracker, ContiguousSequenceAdvancesWatermark) {
  ManualClock clock;
  GapTracker tracker = Tracker(clock);
  for (int64_t seq = 1; seq <= 5; ++seq) EXPECT_TRUE(tracker.Accept(seq));
  EXPECT_EQ(tracker.watermark(), 5);
  EXPECT_EQ(tracker.high(), 5);
  EXPECT_EQ(tracker.pending_gap_count(), 0u);
}

TEST(GapTracker, HoldsPositionUntilGapFills) {
  ManualClock clock;
  GapTracker tracker = Tracker(clock, GapRule::kTimeout, {10, 10, {}});
  EXPECT_TRUE(tracker.Accept(11));
  EXPECT_TRUE(tracker.Accept(14));  // 12 and 13 not committed yet
  EXPECT_EQ(tracker.watermark(), 11);
  EXPECT_EQ(tracker.PendingGaps(10), (std::vector<SeqRange>{{12, 13}}));
  EXPECT_TRUE(tracker.Accept(13));
  EXPECT_EQ(tracker.PendingGaps(10), (std::vector<SeqRange>{{12, 12}}));
  EXPECT_TRUE(tracker.Accept(12));
  EXPECT_EQ(tracker.watermark(), 14);
  EXPECT_EQ(tracker.pending_gap_count(), 0u);
}

TEST(GapTracker, PublishesEachSequenceOnce) {
  ManualClock clock;
  GapTracker tracker = Tracker(clock);
  EXPECT_TRUE(tracker.Accept(1));
  EXPECT_TRUE(tracker.Accept(3));
  EXPECT_FALSE(tracker.Accept(1));  // at or below the watermark
  EXPECT_FALSE(tracker.Accept(3));  // already seen above a gap
  EXPECT_TRUE(tracker.Accept(2));
  EXPECT_FALSE(tracker.Accept(2));
}

TEST(GapTracker, FillInTheMiddleSplitsAGap) {
  ManualClock clock;
  GapTracker tracker = Tracker(clock);
  EXPECT_TRUE(tracker.Accept(10));
  EXPECT_TRUE(tracker.Accept(5));
  EXPECT_EQ(tracker.PendingGaps(10), (std::vector<SeqRange>{{1, 4}, {6, 9}}));
  EXPECT_EQ(tracker.pending_seq_count(), 8);
}

TEST(GapTracker, TimeoutRuleGivesAGapUpOnlyAfterAReadPastTheTimeout) {
  ManualClock clock;
  GapTracker tracker = Tracker(clock);
  EXPECT_TRUE(tracker.Accept(1));
  EXPECT_TRUE(tracker.Accept(3));  // 2 rolled back
  clock.Advance(seconds(29));
  std::vector<SeqRange> expired;
  Poll(tracker, clock, {}, std::nullopt, &expired);
  EXPECT_TRUE(expired.empty());
  clock.Advance(seconds(1));
  EXPECT_TRUE(tracker.ExpireGaps().empty());  // not read since the timeout passed
  Poll(tracker, clock, {}, std::nullopt, &expired);
  EXPECT_EQ(expired, (std::vector<SeqRange>{{2, 2}}));
  EXPECT_EQ(tracker.watermark(), 3);
  EXPECT_FALSE(tracker.Accept(2));  // too late: given up
}

TEST(GapTracker, TimeoutRuleSplitGapKeepsItsOriginalTime) {
  ManualClock clock;
  GapTracker tracker = Tracker(clock, GapRule::kTimeout, {}, seconds(10));
  EXPECT_TRUE(tracker.Accept(5));  // gap 1..4 at t=0
  clock.Advance(seconds(8));
  EXPECT_TRUE(tracker.Accept(2));  // splits into {1} and {3,4}, both from t=0
  clock.Advance(seconds(2));
  std::vector<SeqRange> expired;
  Poll(tracker, clock, {}, std::nullopt, &expired);
  EXPECT_EQ(expired, (std::vector<SeqRange>{{1, 1}, {3, 4}}));
}

// SQLite: one writer at a time, so a number missing below a committed one never commits.
TEST(GapTracker, SerialWritersGiveAGapUpAtTheFirstReadAfterItWasNoticed) {
  ManualClock clock;
  GapTracker tracker = Tracker(clock, GapRule::kSerialWriters);
  EXPECT_EQ(Poll(tracker, clock, {1, 4}), (std::vector<int64_t>{1, 4}));  // notices {2,3}
  EXPECT_EQ(tracker.watermark(), 1);
  std::vector<SeqRange> expired;
  Poll(tracker, clock, {}, std::nullopt, &expired);
  EXPECT_EQ(expired, (std::vector<SeqRange>{{2, 3}}));
  EXPECT_EQ(tracker.watermark(), 4);
}

// The three-session case of the issue: transaction 105 takes numbers 1..3 and stays open; the
// older transaction 100 commits number 4. The snapshot after the read shows xmax 101 (the latest
// completed id + 1): 105 is in neither its open list nor below its xmin. The gap's mark is a fresh
// id (110) taken after the read, so only a horizon that lists every open id below 110 - and none
// of them - makes it final.
TEST(GapTracker, HorizonGapIsNotFinalWhileATransactionNewerThanEveryCompletedOneIsOpen) {
  ManualClock clock;
  GapTracker tracker = Tracker(clock, GapRule::kHorizon);
  std::vector<SeqRange> expired;
  Poll(tracker, clock, {4}, Horizon(110, 101, {}), &expired);
  EXPECT_EQ(tracker.PendingGaps(10), (std::vector<SeqRange>{{1, 3}}));
  for (int i = 0; i < 5; ++i) {  // 105 stays open through many polls
    clock.Advance(seconds(60));
    EXPECT_TRUE(Poll(tracker, clock, {}, Horizon(std::nullopt, 111, {105}), &expired).empty());
    EXPECT_TRUE(expired.empty());
  }
  EXPECT_EQ(tracker.OverdueGaps(), (std::vector<SeqRange>{{1, 3}}));
  // 105 commits during a poll that did not read the gap (its writers had not changed): the
  // horizon after the read shows it, so the gap is read again at the next poll - and its rows
  // found.
  EXPECT_TRUE(Poll(tracker, clock, {}, Horizon(std::nullopt, 112, {}), &expired).empty());
  EXPECT_EQ(tracker.PlanRead(16, 1000).ranges, (std::vector<SeqRange>{{1, 3}}));
  EXPECT_EQ(Poll(tracker, clock, {1, 2, 3}, Horizon(std::nullopt, 113, {}), &expired),
            (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(tracker.watermark(), 4);
}

// The mirror case: the transaction holding the gap is the older one, listed in the snapshot.
TEST(GapTracker, HorizonGapHeldByAnOlderTransactionWaitsForIt) {
  ManualClock clock;
  GapTracker tracker = Tracker(clock, GapRule::kHorizon);
  std::vector<SeqRange> expired;
  Poll(tracker, clock, {4}, Horizon(110, 106, {100}), &expired);
  Poll(tracker, clock, {}, Horizon(std::nullopt, 111, {100}), &expired);
  EXPECT_TRUE(expired.empty());
  // 100 rolls back: final at this horizon, given up by the next read that still finds it empty.
  Poll(tracker, clock, {}, Horizon(std::nullopt, 111, {}), &expired);
  EXPECT_TRUE(expired.empty());
  Poll(tracker, clock, {}, Horizon(std::nullopt, 111, {}), &expired);
  EXPECT_EQ(expired, (std::vector<SeqRange>{{1, 3}}));
  EXPECT_EQ(tracker.watermark(), 4);
}

TEST(GapTracker, HorizonGapFinalButNotReadSinceIsNotGivenUp) {
  ManualClock clock;
  GapTracker tracker = Tracker(clock, GapRule::kHorizon);
  Poll(tracker, clock, {1, 4}, Horizon(60, 50, {}));
  tracker.ObserveHorizon(Horizon(std::nullopt, 61, {}));  // final now, no read since
  EXPECT_TRUE(tracker.ExpireGaps().empty());
  // The transaction committed just before it ended: the read after finality finds its row.
  std::vector<SeqRange> expired;
  EXPECT_EQ(Poll(tracker, clock, {3}, Horizon(std::nullopt, 61, {}), &expired),
            (std::vector<int64_t>{3}));
  EXPECT_EQ(expired, (std::vector<SeqRange>{{2, 2}}));
  EXPECT_EQ(tracker.watermark(), 4);
}

// A gap whose possible writers stay the same is not read again, and rows above it are published
// only when the horizon after the read still shows the same writers.
TEST(GapTracker, QuietGapIsSkippedAndRowsAboveItWaitWhenAWriterEndedDuringTheRead) {
  ManualClock clock;
  GapTracker tracker = Tracker(clock, GapRule::kHorizon);
  Poll(tracker, clock, {1, 3}, Horizon(50, 40, {}));          // gap {2}, mark 50
  Poll(tracker, clock, {}, Horizon(std::nullopt, 51, {45}));  // read; writers unknown before
  Poll(tracker, clock, {}, Horizon(std::nullopt, 52, {45}));  // read under writers {45}
  ReadPlan plan = tracker.PlanRead(16, 1000);
  EXPECT_TRUE(plan.ranges.empty());  // 45 still open since the last read: nothing to read
  EXPECT_TRUE(plan.read_new);
  EXPECT_EQ(tracker.SafeThrough(plan, Horizon(std::nullopt, 53, {45})), kAll);
  // 45 committed during the read: a change of a key in {2} may precede a new row of that key.
  EXPECT_EQ(tracker.SafeThrough(plan, Horizon(std::nullopt, 53, {})), 1);
  EXPECT_EQ(tracker.SafeThrough(plan, std::nullopt), 1);
  std::vector<int64_t> accepted = Poll(tracker, clock, {4, 5}, Horizon(std::nullopt, 53, {}));
  EXPECT_TRUE(accepted.empty());
  // The next poll reads the gap and the new rows together.
  plan = tracker.PlanRead(16, 1000);
  EXPECT_EQ(plan.ranges, (std::vector<SeqRange>{{2, 2}}));
  EXPECT_EQ(Poll(tracker, clock, {2, 4, 5}, Horizon(std::nullopt, 53, {})),
            (std::vector<int64_t>{2, 4, 5}));
  EXPECT_EQ(tracker.watermark(), 5);
}

TEST(GapTracker, PlanMergesNearbyGapsAndLeavesNewRowsForLaterWhenTheyDoNotFit) {
  ManualClock clock;
  GapTracker tracker = Tracker(clock);
  // Gaps at 2, 4, 6 and 8..99, one present row between each.
  for (int64_t seq : {1, 3, 5, 7, 100}) EXPECT_TRUE(tracker.Accept(seq));
  EXPECT_TRUE(tracker.Accept(101));
  EXPECT_EQ(tracker.PendingGaps(10), (std::vector<SeqRange>{{2, 2}, {4, 4}, {6, 6}, {8, 99}}));
  ReadPlan plan = tracker.PlanRead(2, 10);
  EXPECT_EQ(plan.ranges, (std::vector<SeqRange>{{2, 6}, {8, 99}}));
  EXPECT_TRUE(plan.read_new);
  plan = tracker.PlanRead(1, 10);  // three merges, three rows read again: within the budget
  EXPECT_EQ(plan.ranges, (std::vector<SeqRange>{{2, 99}}));
  plan = tracker.PlanRead(1, 1);  // only one merge fits the budget: the lowest range is read
  EXPECT_EQ(plan.ranges, (std::vector<SeqRange>{{2, 4}}));
  EXPECT_FALSE(plan.read_new);
}

TEST(GapTracker, ReadCutShortByItsLimitChecksOnlyUpToItsLastRow) {
  ManualClock clock;
  GapTracker tracker = Tracker(clock, GapRule::kTimeout, {}, seconds(10));
  EXPECT_TRUE(tracker.Accept(10));  // gap 1..9
  EXPECT_TRUE(tracker.Accept(20));  // gap 11..19
  clock.Advance(seconds(10));
  const ReadPlan plan = tracker.PlanRead(16, 1000);
  EXPECT_TRUE(tracker.Accept(3));
  EXPECT_TRUE(tracker.Accept(12));  // the read's row limit ended here
  tracker.Checked(plan, 12, clock.Now());
  EXPECT_EQ(tracker.ExpireGaps(), (std::vector<SeqRange>{{1, 2}, {4, 9}, {11, 11}}));
  EXPECT_EQ(tracker.PendingGaps(10), (std::vector<SeqRange>{{13, 19}}));
}

TEST(GapTracker, PositionRestoresAcceptedRowsAndGaps) {
  ManualClock clock;
  GapTracker tracker = Tracker(clock);
  for (int64_t seq : {1, 3, 6}) EXPECT_TRUE(tracker.Accept(seq));
  const TrackedPosition position = tracker.Position(10);
  EXPECT_EQ(position, (TrackedPosition{1, 6, {{2, 2}, {4, 5}}}));
  GapTracker restored = Tracker(clock, GapRule::kHorizon, position);
  EXPECT_FALSE(restored.Accept(3));  // published before the restart
  EXPECT_TRUE(restored.Accept(5));   // a gap: still waited for
  EXPECT_TRUE(restored.NeedsMark());
  EXPECT_EQ(restored.PendingGaps(10), (std::vector<SeqRange>{{2, 2}, {4, 4}}));
  // Too many gaps for a checkpoint: only the watermark (a restart reads everything above it).
  EXPECT_EQ(tracker.Position(1), (TrackedPosition{1, 1, {}}));
  // Malformed restored gaps are ignored, not trusted.
  GapTracker odd = Tracker(clock, GapRule::kTimeout, {5, 9, {{3, 4}, {7, 12}}});
  EXPECT_EQ(odd.watermark(), 9);
}

TEST(GapTracker, HorizonMarksMayNotGoBackwards) {
  ManualClock clock;
  GapTracker tracker = Tracker(clock, GapRule::kHorizon);
  tracker.ObserveHorizon(Horizon(100, 90, {}));
  EXPECT_THROW(tracker.ObserveHorizon(Horizon(99, 95, {})), PermanentError);
}

TEST(GapTracker, FallingBackToTheTimeoutGivesWaitingGapsUpAfterIt) {
  ManualClock clock;
  GapTracker tracker = Tracker(clock, GapRule::kHorizon);
  Poll(tracker, clock, {2}, Horizon(11, 10, {}));
  clock.Advance(seconds(30));
  std::vector<SeqRange> expired;
  Poll(tracker, clock, {}, Horizon(std::nullopt, 12, {5}), &expired);
  EXPECT_TRUE(expired.empty());
  tracker.SetRule(GapRule::kTimeout);
  Poll(tracker, clock, {}, std::nullopt, &expired);
  EXPECT_EQ(expired, (std::vector<SeqRange>{{1, 1}}));
}

}  // namespace
}  // namespace cdc::producer
