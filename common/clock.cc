#include "common/clock.h"

namespace cdc {

bool SystemClock::SleepFor(Duration duration, std::stop_token stop) {
  std::unique_lock lock(mutex_);
  // wait_for with a stop_token returns early (true) when stop is requested.
  cv_.wait_for(lock, stop, duration, [] { return false; });
  return !stop.stop_requested();
}

ManualClock::ManualClock(WallTime wall_start) : wall_start_(wall_start) {}

Clock::TimePoint ManualClock::Now() const {
  std::lock_guard lock(mutex_);
  return TimePoint{} + elapsed_;
}

Clock::WallTime ManualClock::WallNow() const {
  std::lock_guard lock(mutex_);
  return wall_start_ + std::chrono::duration_cast<WallTime::duration>(elapsed_);
}

bool ManualClock::SleepFor(Duration duration, std::stop_token stop) {
  if (stop.stop_requested()) return false;
  std::lock_guard lock(mutex_);
  elapsed_ += duration;
  slept_ += duration;
  return true;
}

void ManualClock::Advance(Duration duration) {
  std::lock_guard lock(mutex_);
  elapsed_ += duration;
}

Clock::Duration ManualClock::TotalSlept() const {
  std::lock_guard lock(mutex_);
  return slept_;
}

}  // namespace cdc
