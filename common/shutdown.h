// SIGINT/SIGTERM handling without work in a signal handler: the signals are blocked in every
// thread and one watcher thread waits for them with sigwait(), then requests stop on a
// std::stop_source whose tokens every loop checks.
#pragma once

#include <atomic>
#include <stop_token>
#include <thread>

namespace cdc {

class ShutdownSignals {
 public:
  // Must be constructed in main() before any other thread starts, so that all threads inherit
  // the blocked signal mask. At most one instance per process.
  ShutdownSignals();
  ~ShutdownSignals();
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;

  std::stop_token token() const { return source_.get_token(); }
  // Requests stop as if a signal had arrived (e.g. after a fatal error).
  void RequestStop() { source_.request_stop(); }
  // The signal that requested stop (SIGINT/SIGTERM), or 0.
  int signal_received() const { return signal_.load(); }

 private:
  std::stop_source source_;
  std::atomic<int> signal_{0};
  std::jthread watcher_;
};

}  // namespace cdc
