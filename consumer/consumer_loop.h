// The consumer's main loop: a Kafka group member that gathers records into batches (by count or
// time), decodes them, applies each batch with BatchApplier (retrying transient failures forever
// with backoff and jitter) and then commits the same offsets to Kafka. On assignment every
// partition starts at the offset stored in PostgreSQL (cdc.offsets), so a crash between the
// PostgreSQL commit and the Kafka commit re-applies nothing. Runs on the calling thread.
#pragma once

#include <atomic>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/event/decoder.h"
#include "common/kafka/consumer.h"
#include "common/log.h"
#include "common/metrics/status_server.h"
#include "common/pg/connection.h"
#include "consumer/applier.h"
#include "consumer/consumer_metrics.h"
#include "consumer/dead_letters.h"
#include "consumer/offsets.h"
#include "consumer/record_decoder.h"
#include "consumer/settings.h"
#include "consumer/target_catalog.h"

namespace cdc::consumer {

class ConsumerLoop final : public kafka::RebalanceListener {
 public:
  // Every reference must outlive the loop. `progress` (optional) receives a progress line every
  // few seconds (replay).
  ConsumerLoop(const ConsumerSettings& settings, const kafka::KafkaSettings& kafka,
               event::EventDecoder& decoder, DeadLetterPublisher& dead_letters,
               ConsumerMetrics& metrics, Clock& clock, Logger logger,
               std::ostream* progress = nullptr);
  ~ConsumerLoop() override;

  // Consumes until `stop`, then applies or rolls back the open batch, commits and leaves the
  // group. Throws FatalError (and config::ConfigError) when the consumer cannot go on.
  void Run(std::stop_token stop);

  // Thread-safe: ready unless batches have failed for longer than consumer.unhealthy_after_ms.
  metrics::Readiness Readiness() const;

  void OnAssign(std::vector<kafka::TopicPartition>& partitions) override;
  void OnRevoke(const std::vector<kafka::TopicPartition>& partitions) override;

 private:
  pg::Connection& Pg();
  void Gather(std::stop_token stop);
  // Decodes and applies the batch; false when stopped before it could be committed.
  bool ApplyBatch(std::stop_token stop);
  void Record(const ApplyOutcome& outcome, double seconds);
  void CommitToKafka();
  void UpdateLag(bool force);
  void Failing(const Error& error);
  // Forgets remembered deletes older than consumer.tombstone_retention_hours (every 10 minutes).
  void PurgeTombstones();

  const ConsumerSettings& settings_;
  const kafka::KafkaSettings& kafka_settings_;
  ConsumerMetrics& metrics_;
  Clock& clock_;
  const Logger logger_;
  std::ostream* const progress_;
  RecordDecoder decoder_;
  TargetCatalog catalog_;
  BatchApplier applier_;
  std::unique_ptr<pg::Connection> pg_;
  std::unique_ptr<kafka::Consumer> consumer_;
  Batch batch_;
  std::vector<kafka::TopicPartition> assigned_;
  std::map<PartitionKey, int64_t> positions_;  // next offset to apply per assigned partition
  std::stop_token stop_;
  Clock::TimePoint last_lag_update_{};
  Clock::TimePoint last_progress_{};
  std::optional<Clock::TimePoint> last_purge_;
  int64_t applied_since_progress_ = 0;
  int64_t total_lag_ = 0;

  std::atomic<int64_t> failing_since_ns_{0};  // steady-clock ns of the first failure; 0 = healthy
  mutable std::mutex error_mutex_;
  std::string last_error_;
};

}  // namespace cdc::consumer
