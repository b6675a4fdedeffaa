// Gap-safe position tracking for one change table. Sequence numbers order insertion, not commit:
// a reader that has seen 100 and 102 may see 101 commit later. The tracker keeps
//   - the low watermark W: every sequence number <= W has been accepted (or given up), and
//   - the pending gaps: ranges above W, below the highest number seen, not yet seen.
// A gap is given up (rolled-back transactions and lost sequence caches leave gaps that never
// fill) only after a read found it still empty when it could no longer fill:
//   - with a transaction horizon (the source database tells which transactions are still open,
//     see ObserveHorizon): once every transaction that was open when the gap was noticed has
//     ended - however long that takes, so a long transaction's rows are never given up;
//   - without one: once `gap_timeout` has passed since the gap was noticed.
// With more gaps pending than one read can cover, the reads take turns (least recently checked
// first), so a committed row behind many never-filling gaps is still found.
// Pure logic with an injected clock; not thread-safe (one table worker owns it).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "common/clock.h"

namespace cdc::producer {

// The source database's transaction horizon, in its own monotonic unit (PostgreSQL transaction
// ids, Oracle SCNs): `next` is above every transaction that has started; `oldest_open` is the
// oldest transaction still open (== next when none is). A gap noticed before a horizon with
// next = N can no longer fill once a later horizon has oldest_open >= N.
struct TxHorizon {
  int64_t oldest_open = 0;
  int64_t next = 0;
};

struct SeqRange {
  int64_t first = 0;  // inclusive
  int64_t last = 0;   // inclusive
  bool operator==(const SeqRange&) const = default;
};

class GapTracker {
 public:
  // Starts with everything <= `watermark` done (a checkpoint, or 0 for a new table).
  GapTracker(int64_t watermark, std::chrono::milliseconds gap_timeout, const Clock& clock);

  // Records that `seq` was read. Returns true when it is new (publish it), false when it was
  // already accepted in this tracker's lifetime or lies at or below the watermark.
  [[nodiscard]] bool Accept(int64_t seq);

  // The pending gaps the next read should cover, at most `limit`, in ascending order: the ones
  // checked least recently (never checked first), lowest first among equals.
  std::vector<SeqRange> GapsToCheck(size_t limit) const;

  // Records that a read which started at `read_at` covered `ranges` (as returned by GapsToCheck)
  // up to and including `through` (lower than the ranges' end when the read hit its row limit)
  // and that everything it found there was passed to Accept.
  void Checked(const std::vector<SeqRange>& ranges, int64_t through, Clock::TimePoint read_at);

  // Feeds the horizon taken before a read and after the reads that noticed the current gaps: the
  // gaps without a mark take `next` as theirs; the marked ones whose transactions have all ended
  // become final. From the first call on, gaps are given up by the horizon, not the timeout.
  void ObserveHorizon(const TxHorizon& horizon);
  // Back to giving gaps up after the timeout (the source can no longer report a horizon).
  void DropHorizon();
  bool uses_horizon() const { return uses_horizon_; }

  // Gives up the gaps that a read found empty when they could no longer fill (see above).
  // Returns them (for logs/metrics).
  std::vector<SeqRange> ExpireGaps();

  // With a horizon: the gaps that have waited longer than the timeout for a transaction still
  // open, each returned once (for a warning).
  std::vector<SeqRange> OverdueGaps();

  int64_t watermark() const { return watermark_; }
  // The highest sequence number accepted (the watermark when nothing above it was seen).
  int64_t high() const { return high_; }
  // Pending gaps in ascending order, at most `limit`.
  std::vector<SeqRange> PendingGaps(size_t limit) const;
  size_t pending_gap_count() const { return gaps_.size(); }
  // Sequence numbers inside pending gaps.
  int64_t pending_seq_count() const;
  // When the oldest pending gap was noticed (Clock::TimePoint::max() without gaps).
  Clock::TimePoint oldest_gap_since() const;

 private:
  struct Gap {
    int64_t last = 0;
    Clock::TimePoint since;                              // when it was noticed
    Clock::TimePoint checked = Clock::TimePoint::min();  // start of the last read that covered it
    uint64_t checked_by = 0;                             // that read's number (0: none yet)
    std::optional<int64_t> mark;    // horizon `next` observed after it was noticed
    bool final = false;             // every transaction open when it was noticed has ended
    bool empty_when_final = false;  // a read that started after it became final found it empty
    bool overdue_reported = false;
  };
  bool Expired(const Gap& gap) const;
  void Advance();

  const std::chrono::milliseconds gap_timeout_;
  const Clock& clock_;
  int64_t watermark_;
  int64_t high_;
  bool uses_horizon_ = false;
  uint64_t reads_ = 0;  // Checked calls so far: orders the gaps by how recently they were read
  std::map<int64_t, Gap> gaps_;  // first -> gap; disjoint, all in (watermark_, high_)
};

}  // namespace cdc::producer
