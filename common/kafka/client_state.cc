#include "common/kafka/client_state.h"

#include "common/error.h"

namespace cdc::kafka {

void ClientState::OnError(rd_kafka_t* rk, int err, const char* reason) {
  std::lock_guard lock(mutex_);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char fatal[512];
    const rd_kafka_resp_err_t original = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
    fatal_message_ = std::string(rd_kafka_err2name(original)) + ": " + fatal;
    fatal_.store(true);
    logger_.Error("kafka " + role_ + " fatal error", {{"error", fatal_message_}});
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) outages_.fetch_add(1);
  last_client_error_ =
      std::string(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))) + ": " + reason;
  logger_.Warn("kafka client error", {{"error", last_client_error_}});
}

void ClientState::OnLog(int syslog_level, const char* facility, const char* message) const {
  LogLevel level = LogLevel::kDebug;
  if (syslog_level <= 3) {
    level = LogLevel::kError;
  } else if (syslog_level == 4) {
    level = LogLevel::kWarn;
  } else if (syslog_level <= 6) {
    level = LogLevel::kInfo;
  }
  logger_.Log(level, message, {{"facility", facility}});
}

void ClientState::RecordClientError(const std::string& error) {
  std::lock_guard lock(mutex_);
  last_client_error_ = error;
  logger_.Warn("kafka " + role_ + " error", {{"error", error}});
}

void ClientState::ThrowIfFatal() const {
  if (!fatal_.load()) return;
  std::lock_guard lock(mutex_);
  throw FatalError("_FATAL", "kafka " + role_ + " fatal error: " + fatal_message_);
}

std::string ClientState::LastClientError() const {
  std::lock_guard lock(mutex_);
  return last_client_error_;
}

}  // namespace cdc::kafka
