// The Kafka producer: idempotent by default (enable.idempotence=true, acks=all) with Java-client
// compatible partitioning (murmur2_random). Delivery reports are dispatched to a DeliveryHandler
// on the thread that calls Poll() or Flush(). A librdkafka fatal error (e.g. the idempotent
// producer's sequence was broken) makes every later call throw FatalError.
// Thread-safety: Produce() may be called from several threads; Poll()/Flush() from one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/kafka/client_state.h"
#include "common/kafka/message.h"
#include "common/kafka/settings.h"
#include "common/log.h"

namespace cdc::kafka {

struct DeliveryReport {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  uint64_t tag = 0;  // the caller's tag from Produce()
  // The message's key and value; views valid during OnDelivery only.
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  // Set when delivery failed (after librdkafka's own retries).
  std::optional<RetryClass> error_class;
  std::string error_code;  // librdkafka error name, e.g. "_MSG_TIMED_OUT"
  std::string error_message;

  bool ok() const { return !error_class.has_value(); }
};

class DeliveryHandler {
 public:
  virtual ~DeliveryHandler() = default;
  virtual void OnDelivery(const DeliveryReport& report) = 0;
};

struct OutgoingMessage {
  std::string_view topic;
  std::optional<std::string_view> key;    // nullopt = null key
  std::optional<std::string_view> value;  // nullopt = null value (tombstone)
  std::vector<Header> headers;
  std::optional<int32_t> partition;  // nullopt = partitioner decides from the key
  uint64_t tag = 0;                  // returned in the DeliveryReport
};

class Producer {
 public:
  // `handler` must outlive the producer (the destructor still delivers reports to it).
  // `overrides` are extra librdkafka defaults from the caller (the user's kafka.properties still
  // win over them).
  Producer(const KafkaSettings& settings, DeliveryHandler& handler, Logger logger,
           const std::map<std::string, std::string>& overrides = {});
  // Flushes for up to kCloseFlushTimeout before destroying the handle; what is still in flight
  // then is logged (its delivery reports are failures with _PURGE_QUEUE / _DESTROY).
  ~Producer();
  static constexpr std::chrono::milliseconds kCloseFlushTimeout{10'000};
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Enqueues one message. When the local queue is full, serves delivery reports and waits up to
  // `queue_full_wait`; then throws TransientError("_QUEUE_FULL"). Other enqueue failures throw the
  // error's class (e.g. PermanentError for a message above message.max.bytes).
  void Produce(const OutgoingMessage& message,
               std::chrono::milliseconds queue_full_wait = std::chrono::seconds(30));
  // Serves delivery reports and errors for up to `timeout`. Returns the number of events served.
  int Poll(std::chrono::milliseconds timeout);
  // Waits until every queued message is delivered or failed, at most `timeout`. Returns true
  // when nothing is left in flight.
  [[nodiscard]] bool Flush(std::chrono::milliseconds timeout);
  int InFlight() const;
  // Asks the brokers for these topics' metadata and waits for it (at most `timeout` per topic),
  // so that the first message to each goes out at once: librdkafka 2.0.2 otherwise learns a
  // topic named by its first message only at its next one-second topic scan. Returns false when
  // some metadata did not arrive; producing still works then, it only starts later.
  bool LoadTopicMetadata(const std::vector<std::string>& topics, std::chrono::milliseconds timeout);
  // Makes `topic` known to the client without waiting: librdkafka asks for its metadata as soon
  // as a broker connection is up, so a first message sent later (a dead letter) goes out at once
  // instead of waiting for the next topic scan. For a producer that must not block at start.
  void DeclareTopic(const std::string& topic);
  // Drops every message not yet delivered (their reports fail with _PURGE_QUEUE/_PURGE_INFLIGHT,
  // served by this call) so that a shutdown with an unreachable broker does not wait.
  void PurgeAll();
  // The last client-level error seen (broker down, all brokers down, ...) or empty.
  std::string LastClientError() const;
  // Low and high watermark offsets of a partition, from the broker. Throws on failure.
  std::pair<int64_t, int64_t> Watermarks(const std::string& topic, int32_t partition,
                                         std::chrono::milliseconds timeout);
  // How many times every broker was unreachable at once (see ClientState::outages).
  uint64_t BrokerOutages() const { return state_.outages(); }

 private:
  static void OnDeliveryCallback(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
  static void OnErrorCallback(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static void OnLogCallback(const rd_kafka_t* rk, int level, const char* facility, const char* buf);

  DeliveryHandler& handler_;
  ClientState state_;
  std::vector<TopicPtr> declared_;  // destroyed before the handle (~Producer)
  HandlePtr handle_;  // last: destroyed first, while the callbacks' targets still exist
};

}  // namespace cdc::kafka
