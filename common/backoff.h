// Retry with exponential backoff and full jitter ("AWS architecture blog" variant): the n-th
// delay is uniform in [0, min(cap, initial * multiplier^n)]. An optional deadline bounds the
// total time spent retrying. Time comes from an injected Clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <stop_token>

#include "common/clock.h"
#include "common/error.h"

namespace cdc {

struct BackoffPolicy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds cap{30'000};
  double multiplier = 2.0;
  // Give up once this much time has passed since the first attempt; nullopt = retry forever.
  std::optional<std::chrono::milliseconds> deadline;
};

// One retry sequence. Not thread-safe; create one per operation.
class Backoff {
 public:
  Backoff(BackoffPolicy policy, const Clock& clock, uint64_t seed = std::random_device{}());

  // The delay before the next attempt, or nullopt when the deadline would be passed.
  [[nodiscard]] std::optional<Clock::Duration> NextDelay();
  // Upper bound of the next delay before jitter (exposed for tests and logs).
  std::chrono::milliseconds CurrentCeiling() const;
  int attempts() const { return attempts_; }
  void Reset();

 private:
  const BackoffPolicy policy_;
  const Clock& clock_;
  Clock::TimePoint started_;
  int attempts_ = 0;
  std::mt19937_64 rng_;
};

// Calls `operation` until it returns without throwing. A TransientError is retried after the
// backoff delay; anything else propagates at once. When the deadline passes or `stop` is
// requested, the last TransientError is rethrown. `on_retry` (optional) sees each retried error
// and the delay chosen.
void RetryTransient(
    const std::function<void()>& operation, const BackoffPolicy& policy, Clock& clock,
    std::stop_token stop,
    const std::function<void(const TransientError&, Clock::Duration)>& on_retry = nullptr);

}  // namespace cdc
