#include "common/kafka/message.h"

namespace cdc::kafka {

std::string_view Message::topic() const {
  return message_->rkt != nullptr ? rd_kafka_topic_name(message_->rkt) : std::string_view();
}

std::optional<std::string_view> Message::key() const {
  if (message_->key == nullptr) return std::nullopt;
  return std::string_view(static_cast<const char*>(message_->key), message_->key_len);
}

std::optional<std::string_view> Message::value() const {
  if (message_->payload == nullptr) return std::nullopt;
  return std::string_view(static_cast<const char*>(message_->payload), message_->len);
}

std::vector<Header> Message::headers() const {
  std::vector<Header> out;
  rd_kafka_headers_t* headers = nullptr;  // owned by the message
  if (rd_kafka_message_headers(message_.get(), &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return out;
  }
  out.reserve(rd_kafka_header_cnt(headers));
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0;
       rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    Header& header = out.emplace_back(Header{name, std::nullopt});
    if (value != nullptr) header.value.emplace(static_cast<const char*>(value), size);
  }
  return out;
}

int64_t Message::timestamp_ms() const {
  rd_kafka_timestamp_type_t type;
  return rd_kafka_message_timestamp(message_.get(), &type);
}

std::string Message::error_text() const { return rd_kafka_message_errstr(message_.get()); }

PartitionListPtr ToPartitionList(const std::vector<TopicPartition>& partitions) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const TopicPartition& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset =
        tp.offset;
  }
  return list;
}

std::vector<TopicPartition> FromPartitionList(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  if (list == nullptr) return out;
  for (int i = 0; i < list->cnt; ++i) {
    out.push_back({list->elems[i].topic, list->elems[i].partition, list->elems[i].offset});
  }
  return out;
}

}  // namespace cdc::kafka
