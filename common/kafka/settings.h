// librdkafka configuration: building rd_kafka_conf_t from the `kafka` config section, error
// classification, and redacted dumps. The only place rd_kafka_conf_t is touched.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>

#include "common/config/config.h"
#include "common/error.h"

namespace cdc::kafka {

struct KafkaSettings {
  std::string bootstrap_servers;
  // kafka.properties: passed straight to librdkafka (security.protocol, ssl.*, sasl.*, ...).
  std::map<std::string, std::string> properties;

  static KafkaSettings FromConfig(const config::ConfigView& config);
};

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;

// Builds a conf: `defaults` first, then bootstrap.servers and the user's properties, then
// `forced` (settings the wrapper's correctness depends on, which users cannot override).
// Throws config::ConfigError naming `kafka.properties.<key>` when librdkafka rejects a property;
// the message never contains a secret value.
ConfPtr BuildConf(const KafkaSettings& settings, const std::map<std::string, std::string>& defaults,
                  const std::map<std::string, std::string>& forced);

// Every property of `conf` as "key=value" lines with secret values replaced by ***.
std::string RedactedConfDump(const rd_kafka_conf_t* conf);

// True for a legal Kafka topic name: 1..249 of [a-zA-Z0-9._-], not "." or "..".
bool IsValidTopicName(std::string_view name);

// Retry class of a librdkafka error code (authorization/authentication and _FATAL are fatal;
// oversize or invalid records are permanent; everything else is transient).
RetryClass ClassifyKafkaError(rd_kafka_resp_err_t err);

// Throws the matching cdc::Error for `err` with `context` prefixed to librdkafka's message.
[[noreturn]] void ThrowKafkaError(rd_kafka_resp_err_t err, const std::string& context);
// ThrowKafkaError unless `err` is RD_KAFKA_RESP_ERR_NO_ERROR.
inline void ThrowIfError(rd_kafka_resp_err_t err, const std::string& context) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) ThrowKafkaError(err, context);
}

}  // namespace cdc::kafka
