// Owning wrappers for consumed messages and the small value types the Kafka wrappers exchange.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdc::kafka {

// Special offsets understood by Seek and OnAssign.
inline constexpr int64_t kOffsetBeginning = RD_KAFKA_OFFSET_BEGINNING;
inline constexpr int64_t kOffsetEnd = RD_KAFKA_OFFSET_END;
inline constexpr int64_t kOffsetStored = RD_KAFKA_OFFSET_STORED;  // the group's committed offset

struct Header {
  std::string key;
  std::optional<std::string> value;  // nullopt = null header value
  bool operator==(const Header&) const = default;
};

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  // For commits: the next offset to read. For assignment: where to start (kOffsetStored = the
  // group's committed offset or auto.offset.reset).
  int64_t offset = kOffsetStored;
  bool operator==(const TopicPartition&) const = default;
};

// A consumed message. Owns the librdkafka message; views stay valid while it lives.
class Message {
 public:
  explicit Message(rd_kafka_message_t* message) : message_(message) {}

  std::string_view topic() const;
  int32_t partition() const { return message_->partition; }
  int64_t offset() const { return message_->offset; }
  // nullopt for a null key / null value (a tombstone has a null value).
  std::optional<std::string_view> key() const;
  std::optional<std::string_view> value() const;
  std::vector<Header> headers() const;
  // Message timestamp in ms since the epoch, or -1 when not available.
  int64_t timestamp_ms() const;
  // RD_KAFKA_RESP_ERR_NO_ERROR for a message; an error event's code and text otherwise.
  rd_kafka_resp_err_t error() const { return message_->err; }
  std::string error_text() const;

 private:
  struct Deleter {
    void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
  };
  std::unique_ptr<rd_kafka_message_t, Deleter> message_;
};

// RAII for rd_kafka_topic_partition_list_t; conversions to and from TopicPartition.
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

PartitionListPtr ToPartitionList(const std::vector<TopicPartition>& partitions);
std::vector<TopicPartition> FromPartitionList(const rd_kafka_topic_partition_list_t* list);

}  // namespace cdc::kafka
