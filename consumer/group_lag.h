// The consumer group's lag over every partition of its input topics, whether this member holds
// the partition or not (another member may, or nobody during a rebalance): the end offset from
// the brokers, the position from cdc.offsets (the group's truth). Every running member measures
// it every few seconds on a thread and Kafka handle of its own (so it never waits behind a fetch),
// sets cdc_consumer_lag{topic,partition} and writes cdc.partition_lag, which cdc-api serves.
// Every member reports the whole group: aggregate the gauge with max, not sum.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/kafka/settings.h"
#include "common/log.h"
#include "common/pg/connection.h"
#include "consumer/consumer_metrics.h"
#include "consumer/settings.h"

namespace cdc::consumer {

struct PartitionEnd {
  std::string topic;
  int32_t partition = 0;
  int64_t low = 0;  // the first offset the partition still holds
  int64_t end = 0;  // the next offset it will write (high watermark)
};

class GroupLag {
 public:
  // Starts measuring every `interval` until destroyed. References must outlive the object.
  GroupLag(const ConsumerSettings& settings, const kafka::KafkaSettings& kafka,
           ConsumerMetrics& metrics, Clock& clock, Logger logger,
           std::chrono::milliseconds interval = std::chrono::seconds(5));
  ~GroupLag();
  GroupLag(const GroupLag&) = delete;
  GroupLag& operator=(const GroupLag&) = delete;

  // Records of the input topics not yet applied by the group, as last measured (-1 before the
  // first measurement). Thread-safe.
  int64_t total() const { return total_.load(); }

 private:
  void Run(std::stop_token stop);

  const ConsumerSettings& settings_;
  const kafka::KafkaSettings& kafka_;
  ConsumerMetrics& metrics_;
  Clock& clock_;
  const Logger logger_;
  const std::chrono::milliseconds interval_;
  std::atomic<int64_t> total_{-1};
  std::jthread thread_;  // last: stopped first
};

// Stores one measurement in cdc.partition_lag for `group_id`, applying to `target_schema`
// (positions from cdc.offsets; a partition without one is at its low offset) and returns each
// partition's lag, in the order of `ends`. One statement.
std::vector<int64_t> StoreGroupLag(pg::Connection& connection, const std::string& group_id,
                                   const std::string& target_schema,
                                   const std::vector<PartitionEnd>& ends);

}  // namespace cdc::consumer
