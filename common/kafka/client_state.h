// State shared by the producer and consumer wrappers for librdkafka's error and log callbacks:
// the fatal-error latch and the last client-level error. Thread-safe (callbacks arrive on
// librdkafka threads).
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "common/log.h"

namespace cdc::kafka {

class ClientState {
 public:
  ClientState(std::string role, Logger logger)
      : role_(std::move(role)), logger_(std::move(logger)) {}

  // Body of an error_cb: latches fatal errors (with librdkafka's original cause), records and
  // logs the others.
  void OnError(rd_kafka_t* rk, int err, const char* reason);
  // Body of a log_cb.
  void OnLog(int syslog_level, const char* facility, const char* message) const;
  // Records a transient error seen outside the error callback (e.g. a consume error).
  void RecordClientError(const std::string& error);
  // Throws FatalError once a fatal error was latched.
  void ThrowIfFatal() const;
  std::string LastClientError() const;
  // How many times every broker connection was down at once (librdkafka's ALL_BROKERS_DOWN):
  // after such an outage the brokers may have come back without the data they held.
  uint64_t outages() const { return outages_.load(); }
  const Logger& logger() const { return logger_; }

 private:
  const std::string role_;
  const Logger logger_;
  std::atomic<bool> fatal_{false};
  std::atomic<uint64_t> outages_{0};
  mutable std::mutex mutex_;
  std::string fatal_message_;
  std::string last_client_error_;
};

}  // namespace cdc::kafka
