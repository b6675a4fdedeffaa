#include "common/clock.h"

#include <gtest/gtest.h>

#include <thread>

namespace cdc {
namespace {

using std::chrono::milliseconds;

TEST(ManualClock, SleepAdvancesTimeWithoutWaiting) {
  ManualClock clock;
  const auto start = clock.Now();
  const auto wall_start = clock.WallNow();
  const auto real_start = std::chrono::steady_clock::now();
  std::stop_source stop;
  EXPECT_TRUE(clock.SleepFor(std::chrono::hours(1), stop.get_token()));
  EXPECT_EQ(clock.Now() - start, std::chrono::hours(1));
  EXPECT_EQ(clock.WallNow() - wall_start, std::chrono::hours(1));
  EXPECT_LT(std::chrono::steady_clock::now() - real_start, std::chrono::seconds(1));
  clock.Advance(milliseconds(5));
  EXPECT_EQ(clock.Now() - start, std::chrono::hours(1) + milliseconds(5));
  EXPECT_EQ(clock.TotalSlept(), std::chrono::hours(1));
}

TEST(ManualClock, SleepReturnsFalseWhenStopped) {
  ManualClock clock;
  std::stop_source stop;
  stop.request_stop();
  EXPECT_FALSE(clock.SleepFor(milliseconds(10), stop.get_token()));
}

TEST(SystemClock, StopInterruptsSleep) {
  SystemClock clock;
  std::stop_source stop;
  const auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(50));
    stop.request_stop();
  });
  EXPECT_FALSE(clock.SleepFor(std::chrono::seconds(30), stop.get_token()));
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(SystemClock, SleepsForTheDurationWhenNotStopped) {
  SystemClock clock;
  std::stop_source stop;
  const auto start = clock.Now();
  EXPECT_TRUE(clock.SleepFor(milliseconds(20), stop.get_token()));
  EXPECT_GE(clock.Now() - start, milliseconds(20));
}

}  // namespace
}  // namespace cdc
