#include "producer/gap_tracker.h"

#include <algorithm>
#include <limits>

#include "common/error.h"

namespace cdc::producer {

GapTracker::GapTracker(const TrackedPosition& position, GapRule rule,
                       std::chrono::milliseconds gap_timeout, const Clock& clock)
    : gap_timeout_(gap_timeout),
      clock_(clock),
      rule_(rule),
      watermark_(position.watermark),
      high_(std::max(position.high, position.watermark)) {
  const Clock::TimePoint now = clock_.Now();
  int64_t floor = watermark_;  // restored gaps must be ascending, disjoint and inside (W, high)
  for (const SeqRange& range : position.gaps) {
    if (range.first <= floor || range.last < range.first || range.last >= high_) continue;
    Gap gap;
    gap.last = range.last;
    gap.since = now;
    gap.final = rule_ == GapRule::kSerialWriters;
    gaps_[range.first] = gap;
    floor = range.last;
  }
  Advance();
}

void GapTracker::SetRule(GapRule rule) {
  rule_ = rule;
  if (rule_ != GapRule::kSerialWriters) return;
  for (auto& [first, gap] : gaps_) gap.final = true;
}

bool GapTracker::Accept(int64_t seq) {
  if (seq <= watermark_) return false;
  if (seq > high_) {
    if (seq > high_ + 1) {
      Gap gap;
      gap.last = seq - 1;
      gap.since = clock_.Now();
      gap.final = rule_ == GapRule::kSerialWriters;
      gaps_[high_ + 1] = gap;
    }
    high_ = seq;
    Advance();
    return true;
  }
  if (seq == high_) return false;
  // Inside (watermark_, high_): new only when it fills (part of) a pending gap.
  auto it = gaps_.upper_bound(seq);
  if (it == gaps_.begin()) return false;
  --it;
  const int64_t first = it->first;
  const Gap gap = it->second;
  if (seq > gap.last) return false;
  gaps_.erase(it);
  if (first < seq) {
    Gap lower = gap;  // both parts keep the gap's time, reads and horizon state
    lower.last = seq - 1;
    gaps_[first] = lower;
  }
  if (seq < gap.last) gaps_[seq + 1] = gap;
  Advance();
  return true;
}

std::optional<GapTracker::Writers> GapTracker::WritersAt(const Gap& gap, const TxHorizon& horizon) {
  if (!gap.mark || horizon.complete_below < *gap.mark) return std::nullopt;
  const auto end = std::lower_bound(horizon.open.begin(), horizon.open.end(), *gap.mark);
  Writers writers;
  writers.count = static_cast<size_t>(end - horizon.open.begin());
  for (auto it = horizon.open.begin(); it != end; ++it) writers.sum += *it;
  return writers;
}

bool GapTracker::NeedsRead(const Gap& gap) const {
  if (rule_ != GapRule::kHorizon) return true;
  if (gap.final) return !gap.empty_when_final;
  if (!gap.quiet || !last_horizon_) return true;
  return WritersAt(gap, *last_horizon_) != gap.quiet;
}

ReadPlan GapTracker::PlanRead(size_t max_ranges, int64_t max_extra_rows) const {
  std::vector<SeqRange> need;
  for (const auto& [first, gap] : gaps_) {
    if (NeedsRead(gap)) need.push_back({first, gap.last});
  }
  ReadPlan plan;
  if (need.size() > max_ranges && max_ranges > 0) {
    // Merge across the smallest distances first: the present rows between two gaps are read
    // again (and ignored by Accept) so that one statement covers both.
    std::vector<std::pair<int64_t, size_t>> distances;  // seqs between need[i] and need[i + 1]
    for (size_t i = 0; i + 1 < need.size(); ++i) {
      distances.emplace_back(need[i + 1].first - need[i].last - 1, i);
    }
    std::sort(distances.begin(), distances.end());
    std::vector<bool> merge_next(need.size(), false);
    int64_t extra = 0;
    size_t merges = 0;
    for (const auto& [distance, i] : distances) {
      if (merges >= need.size() - max_ranges || extra + distance > max_extra_rows) break;
      extra += distance;
      merge_next[i] = true;
      ++merges;
    }
    std::vector<SeqRange> merged;
    for (size_t i = 0; i < need.size(); ++i) {
      if (i > 0 && merge_next[i - 1]) {
        merged.back().last = need[i].last;
      } else {
        merged.push_back(need[i]);
      }
    }
    need = std::move(merged);
  }
  if (need.size() > max_ranges) {
    need.resize(max_ranges);
    plan.read_new = false;
  }
  plan.ranges = std::move(need);
  return plan;
}

int64_t GapTracker::SafeThrough(const ReadPlan& plan, const std::optional<TxHorizon>& after) const {
  constexpr int64_t kAll = std::numeric_limits<int64_t>::max();
  if (rule_ != GapRule::kHorizon) return kAll;  // every gap is read, lowest first
  auto range = plan.ranges.begin();
  for (const auto& [first, gap] : gaps_) {
    while (range != plan.ranges.end() && range->last < first) ++range;
    if (range != plan.ranges.end() && range->first <= first && gap.last <= range->last) {
      continue;  // read by this poll's statement
    }
    if (gap.final && gap.empty_when_final) continue;  // can no longer fill
    if (NeedsRead(gap)) return first - 1;  // did not fit in the read: nothing above it was read
    // Skipped because its writers were unchanged before the read: still unchanged after it?
    if (!after || WritersAt(gap, *after) != gap.quiet) return first - 1;
  }
  return kAll;
}

void GapTracker::Checked(const ReadPlan& plan, int64_t through, Clock::TimePoint read_at) {
  for (const SeqRange& range : plan.ranges) {
    // What is left of the range after Accept split or removed parts of it.
    for (auto it = gaps_.lower_bound(range.first);
         it != gaps_.end() && it->second.last <= std::min(range.last, through); ++it) {
      Gap& gap = it->second;
      gap.checked = std::max(gap.checked, read_at);
      if (gap.final) gap.empty_when_final = true;
      gap.quiet = rule_ == GapRule::kHorizon && last_horizon_ ? WritersAt(gap, *last_horizon_)
                                                              : std::optional<Writers>();
    }
  }
}

void GapTracker::ObserveHorizon(const TxHorizon& horizon) {
  if (horizon.next) {
    if (*horizon.next < last_mark_) {
      throw PermanentError("HORIZON", "the source's transaction horizon went backwards (" +
                                          std::to_string(*horizon.next) + " after " +
                                          std::to_string(last_mark_) + ")");
    }
    last_mark_ = *horizon.next;
  }
  for (auto& [first, gap] : gaps_) {
    if (!gap.mark && horizon.next) gap.mark = horizon.next;
    const std::optional<Writers> writers = WritersAt(gap, horizon);
    if (writers && writers->count == 0) gap.final = true;
  }
  last_horizon_ = horizon;
}

bool GapTracker::NeedsMark() const {
  return std::any_of(gaps_.begin(), gaps_.end(),
                     [](const auto& entry) { return !entry.second.mark; });
}

bool GapTracker::Expired(const Gap& gap) const {
  if (rule_ == GapRule::kTimeout) {
    return gap.checked != Clock::TimePoint::min() && gap.checked - gap.since >= gap_timeout_;
  }
  return gap.final && gap.empty_when_final;
}

std::vector<SeqRange> GapTracker::ExpireGaps() {
  std::vector<SeqRange> expired;
  for (auto it = gaps_.begin(); it != gaps_.end();) {
    if (Expired(it->second)) {
      expired.push_back({it->first, it->second.last});
      it = gaps_.erase(it);
    } else {
      ++it;
    }
  }
  if (!expired.empty()) Advance();
  return expired;
}

std::vector<SeqRange> GapTracker::OverdueGaps() {
  std::vector<SeqRange> overdue;
  if (rule_ != GapRule::kHorizon) return overdue;
  const Clock::TimePoint now = clock_.Now();
  for (auto& [first, gap] : gaps_) {
    if (!gap.overdue_reported && now - gap.since >= gap_timeout_) {
      gap.overdue_reported = true;
      overdue.push_back({first, gap.last});
    }
  }
  return overdue;
}

void GapTracker::Advance() { watermark_ = gaps_.empty() ? high_ : gaps_.begin()->first - 1; }

TrackedPosition GapTracker::Position(size_t max_gaps) const {
  if (gaps_.size() > max_gaps) return {watermark_, watermark_, {}};
  return {watermark_, high_, PendingGaps(max_gaps)};
}

std::vector<SeqRange> GapTracker::PendingGaps(size_t limit) const {
  std::vector<SeqRange> out;
  for (auto it = gaps_.begin(); it != gaps_.end() && out.size() < limit; ++it) {
    out.push_back({it->first, it->second.last});
  }
  return out;
}

int64_t GapTracker::pending_seq_count() const {
  int64_t count = 0;
  for (const auto& [first, gap] : gaps_) count += gap.last - first + 1;
  return count;
}

Clock::TimePoint GapTracker::oldest_gap_since() const {
  Clock::TimePoint oldest = Clock::TimePoint::max();
  for (const auto& [first, gap] : gaps_) oldest = std::min(oldest, gap.since);
  return oldest;
}

}  // namespace cdc::producer
