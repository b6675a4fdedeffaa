// Dead letters: a record that cannot be applied goes to the dead-letter topic (original key, value
// and headers plus the cdc.error.* / cdc.original.* context headers) and into cdc.dead_letters in
// the same PostgreSQL transaction that moves the offset past it. The topic delivery must succeed
// before that transaction commits, so a letter is never only in one of the two places... except
// as a duplicate in the topic when the commit then fails and the batch is retried.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/kafka/producer.h"
#include "common/log.h"
#include "common/pg/connection.h"
#include "consumer/batch.h"

namespace cdc::consumer {

// The headers of the dead-letter message for `letter` of `record`.
std::vector<kafka::Header> DeadLetterHeaders(const Record& record, const DeadLetter& letter,
                                             const std::string& group_id,
                                             const std::string& failed_at);

class DeadLetterPublisher final : public kafka::DeliveryHandler {
 public:
  DeadLetterPublisher(const kafka::KafkaSettings& settings, std::string topic, std::string group_id,
                      Logger logger);

  // Produces every dead letter of `batch` and waits until all are delivered. Throws
  // TransientError("DLQ") when one fails or `timeout` passes (the caller retries the batch).
  // Thread-safe: concurrent calls (apply lanes) take turns.
  void Publish(const Batch& batch, std::chrono::milliseconds timeout);

  void OnDelivery(const kafka::DeliveryReport& report) override;

 private:
  const std::string topic_;
  const std::string group_id_;
  const Logger logger_;
  std::mutex publish_mutex_;  // one Publish at a time: the counters below belong to it
  std::atomic<int64_t> delivered_{0};
  std::atomic<int64_t> failed_{0};
  std::string last_error_;
  std::unique_ptr<kafka::Producer> producer_;  // last: destroyed first
};

// Inserts one cdc.dead_letters row per dead letter of `batch` (inside the caller's transaction).
// A letter without its table (a record that could not be decoded) gets the one its topic is
// applied to in `target_schema` (cdc.tables), when there is one.
void InsertDeadLetters(pg::Connection& connection, const Batch& batch, const std::string& group_id,
                       const std::string& target_schema);

// ISO-8601 UTC of a wall time with microseconds, e.g. 2026-11-21T10:00:00.123456Z.
std::string IsoUtc(std::chrono::system_clock::time_point time);

}  // namespace cdc::consumer
