// Gap-safe position tracking for one change table. Sequence numbers order insertion, not commit:
// a reader that has seen 100 and 102 may see 101 commit later. The tracker keeps
//   - the low watermark W: every sequence number <= W has been accepted (or given up),
//   - the highest number accepted, and
//   - the pending gaps: ranges in (W, high) not yet seen.
// A gap is given up only when a read found it empty after it could no longer fill (GapRule). Why
// each rule is sound is written down in producer/DESIGN.md ("Why a final gap never fills").
//
// One poll is: PlanRead -> the read it plans -> a horizon taken after the read -> SafeThrough ->
// Accept every row the read returned up to SafeThrough's answer -> Checked -> ObserveHorizon ->
// ExpireGaps. Publishing only what SafeThrough allows keeps every key's events in source order:
// a row is published only once every gap below it was either read in the same statement or
// proven by two horizons to have received no commit since it was last read.
//
// Pure logic with an injected clock; not thread-safe (one table worker owns it).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "common/clock.h"

namespace cdc::producer {

// How a gap becomes final.
enum class GapRule {
  // PostgreSQL, Oracle: once every transaction that could hold its numbers has ended (read from
  // the source's transaction horizon, see TxHorizon).
  kHorizon,
  // SQLite: one writer at a time, so a number missing below a committed one never commits: final
  // as soon as it is noticed.
  kSerialWriters,
  // A source user that may not read the horizon: gap_timeout after it was noticed (not safe: a
  // transaction open longer than that loses its rows; reported loudly).
  kTimeout,
};

// The source's transaction horizon, in its own monotonic unit (PostgreSQL 64-bit transaction ids,
// Oracle SCNs). Transactions are identified by a position that only transactions starting later
// exceed: a PostgreSQL xid, an Oracle transaction's START_SCN.
struct TxHorizon {
  // A mark: above the position of every transaction that had started (taken a number) before
  // this horizon was read. PostgreSQL: txid_current() (a fresh id: every id assigned before it is
  // lower); Oracle: CURRENT_SCN + 1. nullopt when the horizon was read without one.
  std::optional<int64_t> next;
  // Every transaction still open whose position is below this is listed in `open`.
  // PostgreSQL: the snapshot's xmax; Oracle: `next`.
  int64_t complete_below = 0;
  // The open transactions' positions, ascending (PostgreSQL: the snapshot's xip list; Oracle:
  // GV$TRANSACTION.START_SCN).
  std::vector<int64_t> open;
};

struct SeqRange {
  int64_t first = 0;  // inclusive
  int64_t last = 0;   // inclusive
  bool operator==(const SeqRange&) const = default;
};

// What one poll reads: the gap ranges (merged where the present rows between them are few) and,
// when every gap that needs reading is among them, the new rows above high().
struct ReadPlan {
  std::vector<SeqRange> ranges;  // ascending, disjoint
  bool read_new = true;
};

// The tracker's state as a checkpoint keeps it: everything <= watermark, and everything in
// (watermark, high] outside `gaps`, was accepted.
struct TrackedPosition {
  int64_t watermark = 0;
  int64_t high = 0;
  std::vector<SeqRange> gaps;
  bool operator==(const TrackedPosition&) const = default;
};

class GapTracker {
 public:
  // Starts from a checkpointed position (a new table: all zero). Restored gaps count as noticed
  // now; under kHorizon they take the next horizon's mark.
  GapTracker(const TrackedPosition& position, GapRule rule, std::chrono::milliseconds gap_timeout,
             const Clock& clock);

  // Switches the rule (the horizon became unreadable, or readable again).
  void SetRule(GapRule rule);
  GapRule rule() const { return rule_; }

  // Records that `seq` was read. Returns true when it is new (publish it), false when it was
  // already accepted in this tracker's lifetime or lies at or below the watermark.
  [[nodiscard]] bool Accept(int64_t seq);

  // The next read: the lowest gaps that need reading (a gap that is final, not yet read under its
  // current mark, or whose possible writers changed since its last read), merged while the seq
  // distance between them stays within `max_extra_rows` in total, at most `max_ranges`;
  // read_new is false when more gaps need reading than fit.
  ReadPlan PlanRead(size_t max_ranges, int64_t max_extra_rows) const;

  // For a read made as `plan` says, and the horizon read after it (nullopt: none could be read):
  // the highest sequence number whose rows may be accepted. Below it, every gap the read did not
  // cover provably received no commit since it was last read. INT64_MAX when nothing limits.
  int64_t SafeThrough(const ReadPlan& plan, const std::optional<TxHorizon>& after) const;

  // Records that a read which started at `read_at` covered `plan.ranges` up to and including
  // `through` (lower than their end when it was cut short) and that everything it found there up
  // to `through` was passed to Accept.
  void Checked(const ReadPlan& plan, int64_t through, Clock::TimePoint read_at);

  // Feeds the horizon read after this poll's read: unmarked gaps take its mark; marked gaps
  // without any possible writer left become final. Throws PermanentError("HORIZON") when a mark
  // does not exceed the previous one (the source connection is not in autocommit mode, so its
  // "fresh" id is an old one and the rule's argument would not hold).
  void ObserveHorizon(const TxHorizon& horizon);
  // True when a gap waits for a mark (the next horizon must be read with one).
  bool NeedsMark() const;

  // Gives up the gaps a read found empty when they could no longer fill (see GapRule). Returns
  // them (for logs/metrics).
  std::vector<SeqRange> ExpireGaps();

  // kHorizon: the gaps that have waited longer than the timeout for a transaction still open,
  // each returned once (for a warning).
  std::vector<SeqRange> OverdueGaps();

  int64_t watermark() const { return watermark_; }
  // The highest sequence number accepted (the watermark when nothing above it was seen).
  int64_t high() const { return high_; }
  // The state to checkpoint: with more than `max_gaps` gaps, only the watermark (a restart then
  // reads everything above it again).
  TrackedPosition Position(size_t max_gaps) const;
  // Pending gaps in ascending order, at most `limit`.
  std::vector<SeqRange> PendingGaps(size_t limit) const;
  size_t pending_gap_count() const { return gaps_.size(); }
  // Sequence numbers inside pending gaps.
  int64_t pending_seq_count() const;
  // When the oldest pending gap was noticed (Clock::TimePoint::max() without gaps).
  Clock::TimePoint oldest_gap_since() const;

 private:
  // The transactions that may still write into a gap: those open below its mark. Known only
  // where the horizon lists every open transaction below the mark.
  struct Writers {
    size_t count = 0;
    int64_t sum = 0;
    bool operator==(const Writers&) const = default;
  };
  struct Gap {
    int64_t last = 0;
    Clock::TimePoint since;                              // when it was noticed
    Clock::TimePoint checked = Clock::TimePoint::min();  // start of the last read that covered it
    std::optional<int64_t> mark;  // the first horizon's `next` after it was noticed
    // The possible writers at the horizon read before the last read that covered it. While a
    // later horizon shows the same writers (the set only shrinks), none of them has ended, so the
    // gap is still as empty as that read found it.
    std::optional<Writers> quiet;
    bool final = false;             // no transaction can write into it any more
    bool empty_when_final = false;  // a read that started after it became final found it empty
    bool overdue_reported = false;
  };
  static std::optional<Writers> WritersAt(const Gap& gap, const TxHorizon& horizon);
  bool NeedsRead(const Gap& gap) const;
  bool Expired(const Gap& gap) const;
  void Advance();

  const std::chrono::milliseconds gap_timeout_;
  const Clock& clock_;
  GapRule rule_;
  int64_t watermark_;
  int64_t high_;
  std::optional<TxHorizon> last_horizon_;  // the latest ObserveHorizon
  int64_t last_mark_ = 0;
  std::map<int64_t, Gap> gaps_;  // first -> gap; disjoint, all in (watermark_, high_)
};

}  // namespace cdc::producer
