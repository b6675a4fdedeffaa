// Publishes the producer's messages through one idempotent Kafka producer and turns delivery
// reports into confirmed positions: each table has a DeliveryLedger, and a message's tag carries
// its table and ordinal. Delivery timeouts are disabled by default (message.timeout.ms=0): while
// Kafka is unreachable librdkafka keeps retrying, the table workers stop polling once their
// in-flight limit is reached, and the change table is the buffer.
// Thread-safety: Publish/PublishUntracked from any thread; Serve from one (the main loop).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/event/messages.h"
#include "common/kafka/producer.h"
#include "common/log.h"
#include "producer/checkpoint.h"
#include "producer/confirmed_check.h"
#include "producer/delivery_ledger.h"
#include "producer/producer_metrics.h"

namespace cdc::producer {

using TableLedger = DeliveryLedger<TablePosition>;

class Publisher final : public kafka::DeliveryHandler {
 public:
  Publisher(const kafka::KafkaSettings& settings, ProducerMetrics& metrics, const Clock& clock,
            Logger logger);
  // The librdkafka properties the event producer sets (kafka.properties override them), e.g.
  // compression.type lz4: subscribers need an lz4 codec (schemas/README.md states it).
  static const std::map<std::string, std::string>& DefaultProperties();
  ~Publisher() override;
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Registers a table (before any Publish) and returns its index.
  size_t AddTable(const std::string& name, TablePosition position);
  TableLedger& ledger(size_t table) { return *tables_.at(table)->ledger; }

  // Enqueues `messages` to `topic` on behalf of `table`, reserving their ordinals. When an
  // enqueue fails, the messages not enqueued are released and the error propagates (its class
  // from librdkafka: queue full after waiting is transient).
  void Publish(size_t table, const std::string& topic, std::vector<event::Message>&& messages);
  // Enqueues one message whose delivery nobody waits for (checkpoint records).
  void PublishUntracked(const std::string& topic, const std::string& key, const std::string& value);

  // Serves delivery reports for up to `timeout`; throws FatalError after a librdkafka fatal
  // error.
  void Serve(std::chrono::milliseconds timeout);
  [[nodiscard]] bool Flush(std::chrono::milliseconds timeout);
  // Drops what is still queued (shutdown with an unreachable broker).
  void PurgeAll();
  int InFlight() const;
  // How many times every broker was unreachable at once: after one, the brokers may have come
  // back without what they held (the schemas topic among it).
  uint64_t BrokerOutages() const { return producer_->BrokerOutages(); }
  // See kafka::Producer::LoadTopicMetadata: called before the first publish so that it goes out
  // at once.
  bool LoadTopicMetadata(const std::vector<std::string>& topics, std::chrono::milliseconds timeout);

  void OnDelivery(const kafka::DeliveryReport& report) override;

  // The first delivery Kafka refused for want of a permission (TOPIC_AUTHORIZATION_FAILED: a
  // missing ACL), as "topic: error"; nullopt while none was. Retrying cannot help: the producer
  // stops, and a restart once the ACL is granted resumes from the checkpoint. Main loop only.
  const std::optional<std::string>& refused() const { return refused_; }

  // The last message the broker confirmed in each partition (producer/confirmed_check.h).
  // Main loop only (with Serve), as are the two below.
  const ConfirmedTips& Tips() const { return confirmed_; }
  // The tips of `topic`'s partitions, for its table's checkpoint.
  std::map<int32_t, ConfirmedTip> TipsOf(const std::string& topic) const;
  // The tips as they stood before the outages seen since they were last checked: after every
  // broker was unreachable, the brokers may have come back without them.
  const ConfirmedTips& UncheckedTips();
  // `tips` were found held (or lost): they need no check any more.
  void Checked(const ConfirmedTips& tips);

 private:
  struct Table {
    std::string name;
    std::unique_ptr<TableLedger> ledger;
    metrics::Counter* published = nullptr;
    metrics::Counter* errors = nullptr;
    metrics::Histogram* latency = nullptr;
  };
  static constexpr int kTableShift = 48;

  ProducerMetrics& metrics_;
  const Clock& clock_;
  const Logger logger_;
  std::vector<std::unique_ptr<Table>> tables_;
  std::mutex error_log_mutex_;
  Clock::TimePoint last_error_log_{};
  // Takes the tips as they were before an outage the first time it is seen (before the reports
  // of what the broker accepts after it).
  void NoteOutages();

  // The last confirmed message per (topic, partition), and the tips still to check after an
  // outage; main loop only (OnDelivery runs inside Serve).
  ConfirmedTips confirmed_;
  std::optional<std::string> refused_;
  ConfirmedTips unchecked_;
  uint64_t outages_noted_ = 0;
  std::unique_ptr<kafka::Consumer> reader_;    // reads confirmed messages back; made on first use
  std::unique_ptr<kafka::Producer> producer_;  // last: destroyed first
};

}  // namespace cdc::producer
