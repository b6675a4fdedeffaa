// Gap-safe position tracking for one change table. Sequence numbers order insertion, not commit:
// a reader that has seen 100 and 102 may see 101 commit later. The tracker keeps
//   - the low watermark W: every sequence number <= W has been accepted (or given up), and
//   - the pending gaps: ranges above W, below the highest number seen, not yet seen.
// A gap is waited for until it fills or until `gap_timeout` has passed since it was first noticed
// (rolled-back transactions and sequence caching leave gaps that never fill).
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

  // Gives up the gaps that have waited longer than the timeout. Returns them (for logs/metrics).
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
    Clock::TimePoint since;
  };
  void Advance();

  const std::chrono::milliseconds gap_timeout_;
  const Clock& clock_;
  int64_t watermark_;
  int64_t high_;
  std::map<int64_t, Gap> gaps_;  // first -> gap; disjoint, all in (watermark_, high_)
};

}  // namespace cdc::producer
