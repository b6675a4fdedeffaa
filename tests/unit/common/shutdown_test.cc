#include "common/shutdown.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

namespace cdc {
namespace {

bool WaitForStop(const std::stop_token& token) {
  for (int i = 0; i < 500 && !token.stop_requested(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return token.stop_requested();
}

TEST(ShutdownSignals, SigtermRequestsStop) {
  ShutdownSignals shutdown;
  EXPECT_FALSE(shutdown.token().stop_requested());
  kill(getpid(), SIGTERM);
  EXPECT_TRUE(WaitForStop(shutdown.token()));
  EXPECT_EQ(shutdown.signal_received(), SIGTERM);
}

TEST(ShutdownSignals, SigintRequestsStop) {
  ShutdownSignals shutdown;
  kill(getpid(), SIGINT);
  EXPECT_TRUE(WaitForStop(shutdown.token()));
  EXPECT_EQ(shutdown.signal_received(), SIGINT);
}

TEST(ShutdownSignals, RequestStopWithoutSignal) {
  ShutdownSignals shutdown;
  shutdown.RequestStop();
  EXPECT_TRUE(shutdown.token().stop_requested());
  EXPECT_EQ(shutdown.signal_received(), 0);
}

}  // namespace
}  // namespace cdc
