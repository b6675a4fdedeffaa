#include "common/backoff.h"

#include <gtest/gtest.h>

#include <set>

namespace cdc {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, CeilingGrowsExponentiallyUpToCap) {
  ManualClock clock;
  Backoff backoff({milliseconds(100), milliseconds(1000), 2.0, std::nullopt}, clock, 42);
  std::vector<int64_t> ceilings;
  for (int i = 0; i < 6; ++i) {
    ceilings.push_back(backoff.CurrentCeiling().count());
    ASSERT_TRUE(backoff.NextDelay().has_value());
  }
  EXPECT_EQ(ceilings, (std::vector<int64_t>{100, 200, 400, 800, 1000, 1000}));
}

TEST(Backoff, FullJitterStaysWithinCeilingAndVaries) {
  ManualClock clock;
  Backoff backoff({milliseconds(1000), milliseconds(1000), 2.0, std::nullopt}, clock, 7);
  std::set<int64_t> seen;
  for (int i = 0; i < 200; ++i) {
    const auto delay = backoff.NextDelay();
    ASSERT_TRUE(delay.has_value());
    EXPECT_GE(delay->count(), 0);
    EXPECT_LE(*delay, milliseconds(1000));
    seen.insert(std::chrono::duration_cast<milliseconds>(*delay).count());
  }
  EXPECT_GT(seen.size(), 50u);  // jitter spreads the delays
}

TEST(Backoff, DeadlineEndsRetries) {
  ManualClock clock;
  Backoff backoff({milliseconds(100), milliseconds(100), 2.0, milliseconds(1000)}, clock, 1);
  ASSERT_TRUE(backoff.NextDelay().has_value());
  clock.Advance(milliseconds(999));
  const auto last = backoff.NextDelay();
  ASSERT_TRUE(last.has_value());
  EXPECT_LE(*last, milliseconds(1));  // clipped to the time left
  clock.Advance(milliseconds(1));
  EXPECT_FALSE(backoff.NextDelay().has_value());
}

TEST(RetryTransient, RetriesTransientErrorsUntilSuccess) {
  ManualClock clock;
  std::stop_source stop;
  int calls = 0;
  int retries = 0;
  RetryTransient(
      [&] {
        if (++calls < 4) throw TransientError("08006", "connection lost");
      },
      {milliseconds(100), milliseconds(1000), 2.0, std::nullopt}, clock, stop.get_token(),
      [&](const TransientError& e, Clock::Duration) {
        EXPECT_EQ(e.code(), "08006");
        ++retries;
      });
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(retries, 3);
  EXPECT_GT(clock.TotalSlept(), Clock::Duration::zero());
}

TEST(RetryTransient, PermanentErrorsAreNotRetried) {
  ManualClock clock;
  std::stop_source stop;
  int calls = 0;
  EXPECT_THROW(RetryTransient([&] { ++calls, throw PermanentError("23505", "dup"); },
                              BackoffPolicy{}, clock, stop.get_token()),
               PermanentError);
  EXPECT_EQ(calls, 1);
}

TEST(RetryTransient, GivesUpAtDeadlineWithLastError) {
  ManualClock clock;
  std::stop_source stop;
  int calls = 0;
  EXPECT_THROW(RetryTransient([&] { ++calls, throw TransientError("08006", "down"); },
                              {milliseconds(100), milliseconds(400), 2.0, milliseconds(5000)},
                              clock, stop.get_token()),
               TransientError);
  EXPECT_GT(calls, 5);
  EXPECT_LE(clock.TotalSlept(), milliseconds(5000));
}

TEST(RetryTransient, StopEndsRetrying) {
  ManualClock clock;
  std::stop_source stop;
  int calls = 0;
  EXPECT_THROW(RetryTransient(
                   [&] {
                     if (++calls == 3) stop.request_stop();
                     throw TransientError("08006", "down");
                   },
                   BackoffPolicy{}, clock, stop.get_token()),
               TransientError);
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace cdc
