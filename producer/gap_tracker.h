// Gap-safe position tracking for one change table. Sequence numbers order insertion, not commit:
// a reader that has seen 100 and 102 may see 101 commit later. The tracker keeps
//   - the low watermark W: every sequence number <= W has been accepted (or given up), and
//   - the pending gaps: ranges above W, below the highest number seen, not yet seen.
// A gap is waited for until it fills, or until a read that started at least `gap_timeout` after the
// gap was first noticed found it still empty (rolled-back transactions and sequence caching leave
// gaps that never fill). A gap is never given up without such a read: with more gaps pending than
// one read can cover, the reads take turns (least recently checked first), so a committed row
// behind many never-filling gaps is still found.
// Pure logic with an injected clock; not thread-safe (one table worker owns it).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

#include "common/clock.h"

namespace cdc::producer {

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

  // Gives up the gaps whose last check started at least the timeout after they were noticed.
  // Returns them (for logs/metrics).
  std::vector<SeqRange> ExpireGaps();

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
    Clock::TimePoint since;                                // when it was noticed
    Clock::TimePoint checked = Clock::TimePoint::min();    // start of the last read that covered it
    uint64_t checked_by = 0;                               // that read's number (0: none yet)
  };
  void Advance();

  const std::chrono::milliseconds gap_timeout_;
  const Clock& clock_;
  int64_t watermark_;
  int64_t high_;
  uint64_t reads_ = 0;  // Checked calls so far: orders the gaps by how recently they were read
  std::map<int64_t, Gap> gaps_;  // first -> gap; disjoint, all in (watermark_, high_)
};

}  // namespace cdc::producer
