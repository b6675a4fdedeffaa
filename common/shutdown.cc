#include "common/shutdown.h"

#include <pthread.h>
#include <signal.h>

#include <csignal>
#include <cstdlib>

namespace cdc {
namespace {

sigset_t ShutdownSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR2);  // private wake-up used by the destructor
  return set;
}

}  // namespace

ShutdownSignals::ShutdownSignals() {
  std::signal(SIGPIPE, SIG_IGN);  // a write to a closed socket fails with EPIPE instead
  const sigset_t set = ShutdownSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  watcher_ = std::jthread([this, set] {
    while (true) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGUSR2) return;
      signal_.store(sig);
      source_.request_stop();
    }
  });
}

ShutdownSignals::~ShutdownSignals() {
  pthread_kill(watcher_.native_handle(), SIGUSR2);
  watcher_.join();
}

ShutdownDeadline::ShutdownDeadline(std::stop_token stop, std::chrono::milliseconds grace,
                                   std::function<void()> on_expiry, int exit_code) {
  watchdog_ = std::jthread(
      [this, stop, grace, on_expiry = std::move(on_expiry), exit_code](std::stop_token self) {
        std::unique_lock lock(mutex_);
        // Wait for the process stop (or for our own disarming, which also requests `self`).
        std::stop_callback wake_on_stop(stop, [this] { cv_.notify_all(); });
        cv_.wait(lock, self, [&] { return disarmed_ || stop.stop_requested(); });
        if (disarmed_ || self.stop_requested()) return;
        if (cv_.wait_for(lock, self, grace, [&] { return disarmed_; })) return;
        if (self.stop_requested()) return;
        if (on_expiry) on_expiry();
        std::_Exit(exit_code);
      });
}

ShutdownDeadline::~ShutdownDeadline() {
  {
    std::lock_guard lock(mutex_);
    disarmed_ = true;
  }
  cv_.notify_all();
  watchdog_.request_stop();
  watchdog_.join();
}

}  // namespace cdc
