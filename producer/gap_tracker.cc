#include "producer/gap_tracker.h"

#include <algorithm>
#include <iterator>
#include <tuple>

namespace cdc::producer {

GapTracker::GapTracker(int64_t watermark, std::chrono::milliseconds gap_timeout, const Clock& clock)
    : gap_timeout_(gap_timeout), clock_(clock), watermark_(watermark), high_(watermark) {}

bool GapTracker::Accept(int64_t seq) {
  if (seq <= watermark_) return false;
  if (seq > high_) {
    if (seq > high_ + 1) {
      Gap gap;
      gap.last = seq - 1;
      gap.since = clock_.Now();
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
    Gap lower = gap;  // both parts keep the gap's time, checks and horizon state
    lower.last = seq - 1;
    gaps_[first] = lower;
  }
  if (seq < gap.last) gaps_[seq + 1] = gap;
  Advance();
  return true;
}

std::vector<SeqRange> GapTracker::GapsToCheck(size_t limit) const {
  std::vector<std::tuple<uint64_t, int64_t, int64_t>> order;  // checked_by, first, last
  order.reserve(gaps_.size());
  for (const auto& [first, gap] : gaps_) order.emplace_back(gap.checked_by, first, gap.last);
  const size_t n = std::min(limit, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end());
  std::vector<SeqRange> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back({std::get<1>(order[i]), std::get<2>(order[i])});
  std::sort(out.begin(), out.end(),
            [](const SeqRange& a, const SeqRange& b) { return a.first < b.first; });
  return out;
}

void GapTracker::Checked(const std::vector<SeqRange>& ranges, int64_t through,
                         Clock::TimePoint read_at) {
  ++reads_;
  for (const SeqRange& range : ranges) {
    // What is left of the range after Accept split or removed parts of it.
    for (auto it = gaps_.lower_bound(range.first);
         it != gaps_.end() && it->second.last <= std::min(range.last, through); ++it) {
      it->second.checked = std::max(it->second.checked, read_at);
      it->second.checked_by = reads_;
      if (it->second.final) it->second.empty_when_final = true;
    }
  }
}

void GapTracker::ObserveHorizon(const TxHorizon& horizon) {
  uses_horizon_ = true;
  for (auto& [first, gap] : gaps_) {
    if (!gap.mark) {
      gap.mark = horizon.next;
    } else if (horizon.oldest_open >= *gap.mark) {
      gap.final = true;
    }
  }
}

void GapTracker::DropHorizon() { uses_horizon_ = false; }

bool GapTracker::Expired(const Gap& gap) const {
  if (uses_horizon_) return gap.empty_when_final;
  return gap.checked != Clock::TimePoint::min() && gap.checked - gap.since >= gap_timeout_;
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
  if (!uses_horizon_) return overdue;
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
