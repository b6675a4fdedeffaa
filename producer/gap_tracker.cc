#include "producer/gap_tracker.h"

#include <iterator>

namespace cdc::producer {

GapTracker::GapTracker(int64_t watermark, std::chrono::milliseconds gap_timeout, const Clock& clock)
    : gap_timeout_(gap_timeout), clock_(clock), watermark_(watermark), high_(watermark) {}

bool GapTracker::Accept(int64_t seq) {
  if (seq <= watermark_) return false;
  if (seq > high_) {
    if (seq > high_ + 1) gaps_[high_ + 1] = Gap{seq - 1, clock_.Now()};
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
  if (first < seq) gaps_[first] = Gap{seq - 1, gap.since};
  if (seq < gap.last) gaps_[seq + 1] = Gap{gap.last, gap.since};
  Advance();
  return true;
}

std::vector<SeqRange> GapTracker::ExpireGaps() {
  std::vector<SeqRange> expired;
  const Clock::TimePoint now = clock_.Now();
  for (auto it = gaps_.begin(); it != gaps_.end();) {
    if (now - it->second.since >= gap_timeout_) {
      expired.push_back({it->first, it->second.last});
      it = gaps_.erase(it);
    } else {
      ++it;
    }
  }
  if (!expired.empty()) Advance();
  return expired;
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
