#include "common/kafka/consumer.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace cdc::kafka {
namespace {

// The first librdkafka whose rd_kafka_seek_partitions takes its timeout in milliseconds.
constexpr int kSeekTimeoutFixed = 0x02010000;

void CheckError(rd_kafka_error_t* error, const std::string& context) {
  if (error == nullptr) return;
  const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  const std::string message = rd_kafka_error_string(error);
  rd_kafka_error_destroy(error);
  ThrowError(ClassifyKafkaError(code), rd_kafka_err2name(code), context + ": " + message);
}

void CheckErr(rd_kafka_resp_err_t err, const std::string& context) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) ThrowKafkaError(err, context);
}

}  // namespace

Consumer::Consumer(const KafkaSettings& settings, const std::string& group_id,
                   RebalanceListener* listener, Logger logger,
                   const std::map<std::string, std::string>& overrides)
    : listener_(listener), state_("consumer", std::move(logger)) {
  std::map<std::string, std::string> defaults = {
      {"auto.offset.reset", "earliest"},
      {"partition.assignment.strategy", "range,roundrobin"},
      {"enable.partition.eof", "false"},
      // How long a fetch waits for data when there is none. Real brokers answer as soon as data
      // arrives; the dev broker (librdkafka's mock) always waits it out, which added up to
      // 500 ms (the default) to the end-to-end latency. 50 ms costs an idle consumer ~20 small
      // requests/s per broker. Override with kafka.properties.
      {"fetch.wait.max.ms", "50"},
      // A fetch response is read into one buffer of its size; above 8 MiB jemalloc serves it
      // from fresh pages and returns them at once, and the page faults made the fetch thread
      // ~40% of the consumer's CPU (librdkafka's default is 50 MiB). Below 4 MiB a backlog over
      // 64 partitions is consumed unevenly: a response fills up before it reaches every
      // partition, and with 1 MiB some partitions fell 10k records behind the rest (end-to-end
      // benchmark). A batch then spans a wide seq range, and the apply's check against
      // remembered deletes hashes every delete above the batch's lowest seq: 2.65M tombstones
      // per 1M changes at 1 MiB (11% of PostgreSQL's CPU), 0.21M at 4 MiB (~1.5%). Consumer
      // benchmark (no deletes): 4 MiB 138-141k, 1 MiB 135k events/s.
      {"fetch.max.bytes", "4194304"},
  };
  for (const auto& [key, value] : overrides) defaults[key] = value;
  ConfPtr conf = BuildConf(settings, defaults,
                           {{"group.id", group_id},
                            {"enable.auto.commit", "false"},
                            {"enable.auto.offset.store", "false"}});
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_rebalance_cb(conf.get(), &Consumer::OnRebalanceCallback);
  rd_kafka_conf_set_error_cb(conf.get(), &Consumer::OnErrorCallback);
  rd_kafka_conf_set_offset_commit_cb(conf.get(), &Consumer::OnCommitCallback);
  rd_kafka_conf_set_log_cb(conf.get(), &Consumer::OnLogCallback);
  state_.logger().Debug("kafka consumer configuration", {{"conf", RedactedConfDump(conf.get())}});
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof(errstr));
  if (rk == nullptr) throw FatalError("KAFKA", std::string("cannot create consumer: ") + errstr);
  static_cast<void>(conf.release());  // owned by the handle now
  handle_.reset(rk);
  rd_kafka_poll_set_consumer(handle_.get());
}

Consumer::~Consumer() {
  try {
    Close();
  } catch (const std::exception& e) {
    state_.logger().Warn("consumer close failed", {{"error", e.what()}});
  }
}

void Consumer::OnRebalanceCallback(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
                                   rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  static_cast<Consumer*>(opaque)->Rebalance(err, partitions);
}

void Consumer::Rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions) {
  const bool cooperative =
      std::strcmp(rd_kafka_rebalance_protocol(handle_.get()), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    std::vector<TopicPartition> assigned = FromPartitionList(partitions);
    if (listener_ != nullptr) listener_->OnAssign(assigned);
    PartitionListPtr list = ToPartitionList(assigned);
    state_.logger().Info("partitions assigned", {{"count", assigned.size()}});
    if (cooperative) {
      CheckError(rd_kafka_incremental_assign(handle_.get(), list.get()), "incremental assign");
    } else {
      CheckErr(rd_kafka_assign(handle_.get(), list.get()), "assign");
    }
    return;
  }
  const std::vector<TopicPartition> revoked = FromPartitionList(partitions);
  state_.logger().Info("partitions revoked",
                       {{"count", revoked.size()}, {"reason", rd_kafka_err2name(err)}});
  if (listener_ != nullptr) listener_->OnRevoke(revoked);
  if (cooperative) {
    CheckError(rd_kafka_incremental_unassign(handle_.get(), partitions), "incremental unassign");
  } else {
    CheckErr(rd_kafka_assign(handle_.get(), nullptr), "unassign");
  }
}

void Consumer::OnErrorCallback(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  static_cast<Consumer*>(opaque)->state_.OnError(rk, err, reason);
}

void Consumer::OnLogCallback(const rd_kafka_t* rk, int level, const char* facility,
                             const char* buf) {
  if (auto* self = static_cast<Consumer*>(rd_kafka_opaque(rk))) {
    self->state_.OnLog(level, facility, buf);
  }
}

void Consumer::Subscribe(const std::vector<std::string>& topics) {
  std::vector<TopicPartition> list;
  for (const std::string& topic : topics) list.push_back({topic, RD_KAFKA_PARTITION_UA});
  PartitionListPtr partitions = ToPartitionList(list);
  CheckErr(rd_kafka_subscribe(handle_.get(), partitions.get()), "subscribe");
}

void Consumer::Assign(const std::vector<TopicPartition>& partitions) {
  PartitionListPtr list = ToPartitionList(partitions);
  CheckErr(rd_kafka_assign(handle_.get(), list.get()), "assign");
}

std::vector<int32_t> Consumer::Partitions(const std::string& topic,
                                          std::chrono::milliseconds timeout) {
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  const MetadataPtr metadata = TopicMetadata(handle_.get(), topic, timeout, &err);
  CheckErr(err, "metadata for " + topic);
  std::vector<int32_t> partitions;
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    if (metadata->topics[t].err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;  // e.g. unknown topic
    for (int p = 0; p < metadata->topics[t].partition_cnt; ++p) {
      partitions.push_back(metadata->topics[t].partitions[p].id);
    }
  }
  return partitions;
}

std::map<std::string, std::vector<int32_t>> Consumer::AllTopics(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* raw = nullptr;
  CheckErr(rd_kafka_metadata(handle_.get(), 1, nullptr, &raw, static_cast<int>(timeout.count())),
           "metadata of all topics");
  const MetadataPtr metadata(raw);
  std::map<std::string, std::vector<int32_t>> topics;
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    if (metadata->topics[t].err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    std::vector<int32_t>& partitions = topics[metadata->topics[t].topic];
    for (int p = 0; p < metadata->topics[t].partition_cnt; ++p) {
      partitions.push_back(metadata->topics[t].partitions[p].id);
    }
  }
  return topics;
}

std::pair<int64_t, int64_t> Consumer::Watermarks(const std::string& topic, int32_t partition,
                                                 std::chrono::milliseconds timeout) {
  int64_t low = 0;
  int64_t high = 0;
  CheckErr(rd_kafka_query_watermark_offsets(handle_.get(), topic.c_str(), partition, &low, &high,
                                            static_cast<int>(timeout.count())),
           "watermarks of " + topic);
  return {low, high};
}

std::optional<std::pair<int64_t, int64_t>> Consumer::CachedWatermarks(const std::string& topic,
                                                                      int32_t partition) {
  int64_t low = RD_KAFKA_OFFSET_INVALID;
  int64_t high = RD_KAFKA_OFFSET_INVALID;
  const rd_kafka_resp_err_t err =
      rd_kafka_get_watermark_offsets(handle_.get(), topic.c_str(), partition, &low, &high);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR || high < 0) return std::nullopt;
  return std::make_pair(std::max<int64_t>(low, 0), high);
}

std::optional<int64_t> Consumer::OffsetForTime(const std::string& topic, int32_t partition,
                                               int64_t timestamp_ms,
                                               std::chrono::milliseconds timeout) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = timestamp_ms;
  CheckErr(rd_kafka_offsets_for_times(handle_.get(), list.get(), static_cast<int>(timeout.count())),
           "offsets for times of " + topic);
  const rd_kafka_topic_partition_t& result = list->elems[0];
  if (result.err != RD_KAFKA_RESP_ERR_NO_ERROR || result.offset < 0) return std::nullopt;
  return result.offset;
}

std::optional<Message> Consumer::Poll(std::chrono::milliseconds timeout) {
  state_.ThrowIfFatal();
  rd_kafka_message_t* raw =
      rd_kafka_consumer_poll(handle_.get(), static_cast<int>(timeout.count()));
  state_.ThrowIfFatal();
  if (raw == nullptr) return std::nullopt;
  return Accept(Message(raw));
}

std::vector<Message> Consumer::PollBatch(std::chrono::milliseconds timeout, size_t max) {
  state_.ThrowIfFatal();
  if (!queue_) queue_.reset(rd_kafka_queue_get_consumer(handle_.get()));
  std::vector<Message> owned;  // every message is owned before anything can throw
  // The first message (or the timeout), then whatever else is ready, without waiting:
  // rd_kafka_consume_batch_queue alone waits until it has all `max` messages or times out,
  // which would hold back a trickle of messages for the whole timeout.
  rd_kafka_message_t* first =
      rd_kafka_consume_queue(queue_.get(), static_cast<int>(timeout.count()));
  if (first == nullptr) {
    state_.ThrowIfFatal();
    return {};
  }
  owned.reserve(max);
  owned.emplace_back(first);
  if (max > 1) {
    std::vector<rd_kafka_message_t*> raw(max - 1);
    const ssize_t count = rd_kafka_consume_batch_queue(queue_.get(), 0, raw.data(), raw.size());
    if (count < 0) ThrowKafkaError(rd_kafka_last_error(), "consume");
    for (ssize_t i = 0; i < count; ++i) owned.emplace_back(raw[static_cast<size_t>(i)]);
  }
  state_.ThrowIfFatal();
  std::vector<Message> messages;
  messages.reserve(owned.size());
  for (Message& message : owned) {
    if (std::optional<Message> accepted = Accept(std::move(message))) {
      messages.push_back(std::move(*accepted));
    }
  }
  return messages;
}

std::optional<Message> Consumer::Accept(Message message) {
  const rd_kafka_resp_err_t err = message.error();
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return message;
  if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return std::nullopt;
  const std::string text = message.error_text();
  const RetryClass retry_class = ClassifyKafkaError(err);
  if (retry_class == RetryClass::kTransient) {
    state_.RecordClientError(std::string(rd_kafka_err2name(err)) + ": " + text);
    return std::nullopt;
  }
  ThrowError(retry_class, rd_kafka_err2name(err), "consume: " + text);
}

void Consumer::Commit(const std::vector<TopicPartition>& offsets) {
  if (offsets.empty()) return;
  PartitionListPtr list = ToPartitionList(offsets);
  CheckErr(rd_kafka_commit(handle_.get(), list.get(), 0), "commit");
  for (int i = 0; i < list->cnt; ++i) CheckErr(list->elems[i].err, "commit");
}

void Consumer::CommitAsync(const std::vector<TopicPartition>& offsets) {
  if (offsets.empty()) return;
  PartitionListPtr list = ToPartitionList(offsets);
  CheckErr(rd_kafka_commit(handle_.get(), list.get(), 1), "commit");
}

void Consumer::OnCommitCallback(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* /*offsets*/, void* opaque) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
  static_cast<Consumer*>(opaque)->state_.logger().Warn(
      "Kafka offset commit failed",
      {{"error", std::string(rd_kafka_err2name(err)) + ": " + rd_kafka_err2str(err)}});
}

std::vector<TopicPartition> Consumer::Committed(const std::vector<TopicPartition>& partitions,
                                                std::chrono::milliseconds timeout) {
  PartitionListPtr list = ToPartitionList(partitions);
  CheckErr(rd_kafka_committed(handle_.get(), list.get(), static_cast<int>(timeout.count())),
           "committed");
  return FromPartitionList(list.get());
}

void Consumer::Pause(const std::vector<TopicPartition>& partitions) {
  PartitionListPtr list = ToPartitionList(partitions);
  CheckErr(rd_kafka_pause_partitions(handle_.get(), list.get()), "pause");
}

void Consumer::Resume(const std::vector<TopicPartition>& partitions) {
  PartitionListPtr list = ToPartitionList(partitions);
  CheckErr(rd_kafka_resume_partitions(handle_.get(), list.get()), "resume");
}

bool Consumer::Seek(const TopicPartition& partition, std::chrono::milliseconds timeout) {
  PartitionListPtr list = ToPartitionList({partition});
  // librdkafka before 2.1.0 waits a thousandth of the timeout it is given (its issue #4230, fixed
  // in 2.1.0): 5 ms for 5 s, which a busy machine often misses. Given in those versions' unit.
  const int64_t factor = rd_kafka_version() < kSeekTimeoutFixed ? 1000 : 1;
  const int wait = static_cast<int>(
      std::min<int64_t>(timeout.count() * factor, std::numeric_limits<int>::max()));
  rd_kafka_error_t* error = rd_kafka_seek_partitions(handle_.get(), list.get(), wait);
  if (error != nullptr && rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    rd_kafka_error_destroy(error);
    return false;
  }
  CheckError(error, "seek");
  CheckErr(list->elems[0].err, "seek " + partition.topic);
  return true;
}

std::vector<TopicPartition> Consumer::Assignment() const {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  CheckErr(rd_kafka_assignment(handle_.get(), &raw), "assignment");
  PartitionListPtr list(raw);
  return FromPartitionList(list.get());
}

std::string Consumer::LastClientError() const { return state_.LastClientError(); }

void Consumer::Close() {
  if (closed_ || !handle_) return;
  closed_ = true;
  CheckErr(rd_kafka_consumer_close(handle_.get()), "close");
}

}  // namespace cdc::kafka
