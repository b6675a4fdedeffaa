// SIGINT/SIGTERM handling without work in a signal handler: the signals are blocked in every
// thread and one watcher thread waits for them with sigwait(), then requests stop on a
// std::stop_source whose tokens every loop checks.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stop_token>
#include <thread>

namespace cdc {

class ShutdownSignals {
 public:
  // Must be constructed in main() before any other thread starts, so that all threads inherit
  // the blocked signal mask. At most one instance per process. Also ignores SIGPIPE for the
  // process: cpp-httplib 0.11 (status and control endpoints) writes to sockets without
  // MSG_NOSIGNAL, and a client that hangs up mid-answer must not end the process.
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

// Bounds a graceful shutdown. Once `stop` is requested, the process has `grace` to finish by
// itself (this object destroyed, i.e. main returning); otherwise `on_expiry` runs (e.g. to log
// why) and the process ends at once with `exit_code` through std::_Exit. For client libraries
// that can block their own teardown indefinitely, e.g. librdkafka destroying a consumer whose
// offset commits wait for an unreachable group coordinator. Use it only where everything that
// matters is already durable (committed in PostgreSQL) when the stop is requested.
class ShutdownDeadline {
 public:
  ShutdownDeadline(std::stop_token stop, std::chrono::milliseconds grace,
                   std::function<void()> on_expiry, int exit_code);
  ~ShutdownDeadline();  // disarms
  ShutdownDeadline(const ShutdownDeadline&) = delete;
  ShutdownDeadline& operator=(const ShutdownDeadline&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable_any cv_;
  bool disarmed_ = false;
  std::jthread watchdog_;
};

}  // namespace cdc
