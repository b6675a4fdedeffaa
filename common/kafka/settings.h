// librdkafka configuration: building rd_kafka_conf_t from the `kafka` config section, error
// classification, redacted dumps, and a topic's metadata (shared by the producer and consumer
// wrappers). The only place rd_kafka_conf_t is touched.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
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

struct TopicDeleter {
  void operator()(rd_kafka_topic_t* rkt) const { rd_kafka_topic_destroy(rkt); }
};
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* metadata) const {
    rd_kafka_metadata_destroy(metadata);
  }
};
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;

// One topic's metadata from the brokers, waiting at most `timeout` (for a producer this also
// makes the topic known to the client, so its first message need not wait for a topic scan).
// Null with `*err` set when it did not arrive.
MetadataPtr TopicMetadata(rd_kafka_t* rk, const std::string& topic,
                          std::chrono::milliseconds timeout, rd_kafka_resp_err_t* err);

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
