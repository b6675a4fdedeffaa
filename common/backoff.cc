#include "common/backoff.h"

#include <algorithm>
#include <cmath>

namespace cdc {

Backoff::Backoff(BackoffPolicy policy, const Clock& clock, uint64_t seed)
    : policy_(policy), clock_(clock), started_(clock.Now()), rng_(seed) {}

std::chrono::milliseconds Backoff::CurrentCeiling() const {
  const double ceiling = static_cast<double>(policy_.initial.count()) *
                         std::pow(policy_.multiplier, static_cast<double>(attempts_));
  const double capped = std::min(ceiling, static_cast<double>(policy_.cap.count()));
  return std::chrono::milliseconds(static_cast<int64_t>(capped));
}

std::optional<Clock::Duration> Backoff::NextDelay() {
  const auto ceiling = std::chrono::duration_cast<Clock::Duration>(CurrentCeiling());
  std::uniform_int_distribution<int64_t> dist(0, ceiling.count());
  Clock::Duration delay(dist(rng_));
  ++attempts_;
  if (policy_.deadline) {
    const Clock::TimePoint give_up_at = started_ + *policy_.deadline;
    const Clock::TimePoint now = clock_.Now();
    if (now >= give_up_at) return std::nullopt;
    delay = std::min<Clock::Duration>(delay, give_up_at - now);
  }
  return delay;
}

void Backoff::Reset() {
  attempts_ = 0;
  started_ = clock_.Now();
}

void RetryTransient(const std::function<void()>& operation, const BackoffPolicy& policy,
                    Clock& clock, std::stop_token stop,
                    const std::function<void(const TransientError&, Clock::Duration)>& on_retry) {
  Backoff backoff(policy, clock);
  while (true) {
    try {
      operation();
      return;
    } catch (const TransientError& error) {
      const std::optional<Clock::Duration> delay = backoff.NextDelay();
      if (!delay || stop.stop_requested()) throw;
      if (on_retry) on_retry(error, *delay);
      if (!clock.SleepFor(*delay, stop)) throw;
    }
  }
}

}  // namespace cdc
