// The Kafka consumer: a group member with manual offsets (enable.auto.commit=false,
// enable.auto.offset.store=false). The pipeline decides where each assigned partition starts
// (RebalanceListener::OnAssign may set offsets, e.g. from PostgreSQL) and commits explicitly.
// Handles both eager and cooperative rebalance protocols.
// Thread-safety: one thread drives the consumer (Poll and every other call); listener callbacks
// run on that thread inside Poll().
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/kafka/client_state.h"
#include "common/kafka/message.h"
#include "common/kafka/settings.h"
#include "common/log.h"

namespace cdc::kafka {

class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // Partitions about to be assigned. Each starts at kOffsetStored (the group's committed offset,
  // else auto.offset.reset); set `offset` to start elsewhere.
  virtual void OnAssign(std::vector<TopicPartition>& partitions) { (void)partitions; }
  // Partitions being taken away (finish or abandon their work before returning).
  virtual void OnRevoke(const std::vector<TopicPartition>& partitions) { (void)partitions; }
};

class Consumer {
 public:
  // `listener` (optional) must outlive the consumer.
  Consumer(const KafkaSettings& settings, const std::string& group_id, RebalanceListener* listener,
           Logger logger, const std::map<std::string, std::string>& overrides = {});
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Topics; an entry starting with '^' is a regular expression.
  void Subscribe(const std::vector<std::string>& topics);
  // Reads `partitions` directly from their offsets, without group membership (no rebalances,
  // no commits needed). Use instead of Subscribe.
  void Assign(const std::vector<TopicPartition>& partitions);
  // The partitions of `topic` (empty when the topic does not exist).
  std::vector<int32_t> Partitions(const std::string& topic, std::chrono::milliseconds timeout);
  // Every topic the brokers list, with its partitions (one metadata request).
  std::map<std::string, std::vector<int32_t>> AllTopics(std::chrono::milliseconds timeout);
  // Low and high watermark offsets of an assigned partition as of its last fetch response (no
  // broker round trip); nullopt before the first fetch.
  std::optional<std::pair<int64_t, int64_t>> CachedWatermarks(const std::string& topic,
                                                              int32_t partition);
  // Low and high watermark offsets of a partition, from the broker.
  std::pair<int64_t, int64_t> Watermarks(const std::string& topic, int32_t partition,
                                         std::chrono::milliseconds timeout);
  // The earliest offset whose timestamp is >= `timestamp_ms` (the broker's ListOffsets by time),
  // or nullopt when the broker has no answer: no such message, or no support for it (the 2.0.2
  // mock cluster always answers -1). Throws on request failure.
  std::optional<int64_t> OffsetForTime(const std::string& topic, int32_t partition,
                                       int64_t timestamp_ms, std::chrono::milliseconds timeout);
  // The next message, or nullopt after `timeout`. Partition-EOF and transient client errors are
  // logged and yield nullopt (librdkafka recovers by itself); fatal errors throw FatalError;
  // a consume error bound to a topic/partition throws its class.
  std::optional<Message> Poll(std::chrono::milliseconds timeout);
  // Up to `max` messages: waits at most `timeout` for the first, then takes what is ready
  // without waiting (far cheaper per message than Poll). Fewer than `max` means nothing more was
  // waiting. Errors are handled as by Poll; rebalance callbacks run inside it as well.
  std::vector<Message> PollBatch(std::chrono::milliseconds timeout, size_t max);
  // Commits `offsets` (each the next offset to read) synchronously. Throws on failure.
  void Commit(const std::vector<TopicPartition>& offsets);
  // Commits `offsets` without waiting for the broker (a failure is logged as a warning when a
  // later poll serves its result). For progress that is informational, so that an unreachable
  // coordinator never stalls the caller.
  void CommitAsync(const std::vector<TopicPartition>& offsets);
  // The group's committed offsets for `partitions` (offset < 0 when none).
  std::vector<TopicPartition> Committed(const std::vector<TopicPartition>& partitions,
                                        std::chrono::milliseconds timeout);
  void Pause(const std::vector<TopicPartition>& partitions);
  void Resume(const std::vector<TopicPartition>& partitions);
  // Moves an assigned partition's fetch position to `partition.offset`. Whatever was fetched
  // before the call is never returned after it (librdkafka's version barrier, set before the
  // call returns). Waits up to `timeout` for librdkafka to confirm the move: false when it has
  // not yet (the seek stays queued and takes effect when librdkafka serves it); throws when
  // librdkafka refused it (the partition is not being fetched, or a later operation on it
  // overtook the seek).
  bool Seek(const TopicPartition& partition, std::chrono::milliseconds timeout);
  std::vector<TopicPartition> Assignment() const;
  std::string LastClientError() const;
  // How many times every broker was unreachable at once (see ClientState::outages).
  uint64_t BrokerOutages() const { return state_.outages(); }
  // Leaves the group (revoking partitions through the listener). Idempotent.
  void Close();

 private:
  static void OnRebalanceCallback(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t* partitions, void* opaque);
  static void OnErrorCallback(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static void OnCommitCallback(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t* offsets, void* opaque);
  static void OnLogCallback(const rd_kafka_t* rk, int level, const char* facility, const char* buf);
  void Rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions);
  // A consumed message, or nullopt for partition-EOF and transient errors; throws as Poll.
  std::optional<Message> Accept(Message message);

  struct QueueDeleter {
    void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
  };

  RebalanceListener* const listener_;
  ClientState state_;
  bool closed_ = false;
  HandlePtr handle_;
  // The consumer queue for PollBatch (taken on first use); destroyed before the handle.
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue_;
};

}  // namespace cdc::kafka
