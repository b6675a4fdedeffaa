// Time as a dependency. Poll loops, backoff and timeouts read a Clock so tests drive time with
// ManualClock instead of sleeping.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stop_token>

namespace cdc {

class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  // Monotonic time: for timeouts, deadlines and rates.
  virtual TimePoint Now() const = 0;
  // Wall-clock time: for timestamps that leave the process.
  virtual WallTime WallNow() const = 0;
  // Waits for `duration` or until `stop` is requested. Returns false when stopped early.
  // Safe to call from any thread.
  virtual bool SleepFor(Duration duration, std::stop_token stop) = 0;
};

// `clock`'s wall time in microseconds since the epoch (event timestamps).
inline int64_t WallMicros(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock.WallNow().time_since_epoch())
      .count();
}

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  bool SleepFor(Duration duration, std::stop_token stop) override;

 private:
  std::mutex mutex_;
  std::condition_variable_any cv_;
};

// Simulated time for tests. SleepFor advances the clock by the requested duration at once (so a
// loop under test runs instantly and deterministically); Advance moves it explicitly.
// Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(WallTime wall_start = WallTime{std::chrono::seconds(1'700'000'000)});

  TimePoint Now() const override;
  WallTime WallNow() const override;
  bool SleepFor(Duration duration, std::stop_token stop) override;

  void Advance(Duration duration);
  // Sum of all durations passed to SleepFor so far.
  Duration TotalSlept() const;

 private:
  mutable std::mutex mutex_;
  Duration elapsed_{0};
  Duration slept_{0};
  const WallTime wall_start_;
};

}  // namespace cdc
