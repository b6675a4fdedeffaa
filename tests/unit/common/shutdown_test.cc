#include "common/shutdown.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
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

TEST(ShutdownSignals, IgnoresSigpipe) {
  std::signal(SIGPIPE, SIG_DFL);
  ShutdownSignals signals;
  struct sigaction action {};
  ASSERT_EQ(sigaction(SIGPIPE, nullptr, &action), 0);
  EXPECT_EQ(action.sa_handler, SIG_IGN);
  // A write to a socket whose peer has gone fails instead of ending the process.
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  close(fds[1]);
  EXPECT_EQ(write(fds[0], "x", 1), -1);
  EXPECT_EQ(errno, EPIPE);
  close(fds[0]);
}

TEST(ShutdownSignals, RequestStopWithoutSignal) {
  ShutdownSignals shutdown;
  shutdown.RequestStop();
  EXPECT_TRUE(shutdown.token().stop_requested());
  EXPECT_EQ(shutdown.signal_received(), 0);
}

TEST(ShutdownDeadline, DoesNothingWithoutAStop) {
  std::stop_source stop;
  { ShutdownDeadline deadline(stop.get_token(), std::chrono::milliseconds(1), nullptr, 3); }
  SUCCEED();
}

TEST(ShutdownDeadline, DoesNothingWhenTheProcessFinishesInTime) {
  std::stop_source stop;
  {
    ShutdownDeadline deadline(stop.get_token(), std::chrono::seconds(30), nullptr, 3);
    stop.request_stop();
  }  // disarmed well before the grace ends
  SUCCEED();
}

TEST(ShutdownDeadlineDeathTest, EndsTheProcessWhenTheGraceRunsOut) {
  EXPECT_EXIT(
      {
        std::stop_source stop;
        ShutdownDeadline deadline(
            stop.get_token(), std::chrono::milliseconds(50),
            [] { std::fputs("shutdown deadline expired\n", stderr); }, 3);
        stop.request_stop();
        std::this_thread::sleep_for(std::chrono::seconds(30));  // a teardown that hangs
      },
      ::testing::ExitedWithCode(3), "shutdown deadline expired");
}

}  // namespace
}  // namespace cdc
