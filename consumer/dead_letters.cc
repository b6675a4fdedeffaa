#include "consumer/dead_letters.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/event/temporal.h"
#include "common/utf8.h"
#include "consumer/pg_text.h"

namespace cdc::consumer {
namespace {

// Error messages may quote undecodable bytes: keep them valid UTF-8 text for PostgreSQL.
std::string CleanText(const std::string& text) {
  std::string out = IsValidUtf8(text) ? text : std::string();
  if (out.empty() && !text.empty()) {
    for (const char c : text) out.push_back(static_cast<unsigned char>(c) < 0x80 ? c : '?');
  }
  out.erase(std::remove(out.begin(), out.end(), '\0'), out.end());
  return out.substr(0, 4000);
}

}  // namespace

std::string IsoUtc(std::chrono::system_clock::time_point time) {
  return event::FormatTimestampTz(
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count());
}

std::vector<kafka::Header> DeadLetterHeaders(const Record& record, const DeadLetter& letter,
                                             const std::string& group_id,
                                             const std::string& failed_at) {
  std::vector<kafka::Header> headers = record.Headers();
  const RecordPosition& at = record.position;
  headers.push_back({"cdc.error.stage", letter.stage});
  headers.push_back({"cdc.error.class", letter.error_class});
  headers.push_back({"cdc.error.code", letter.error_code});
  headers.push_back({"cdc.error.message", CleanText(letter.message)});
  headers.push_back({"cdc.original.topic", at.topic});
  headers.push_back({"cdc.original.partition", std::to_string(at.partition)});
  headers.push_back({"cdc.original.offset", std::to_string(at.offset)});
  headers.push_back({"cdc.original.timestamp", std::to_string(at.timestamp_ms)});
  headers.push_back({"cdc.failed_at", failed_at});
  headers.push_back({"cdc.consumer.group", group_id});
  return headers;
}

DeadLetterPublisher::DeadLetterPublisher(const kafka::KafkaSettings& settings, std::string topic,
                                         std::string group_id, Logger logger)
    : topic_(std::move(topic)),
      group_id_(std::move(group_id)),
      logger_(std::move(logger)),
      producer_(std::make_unique<kafka::Producer>(
          settings, *this, logger_, std::map<std::string, std::string>{{"linger.ms", "0"}})) {
  // Not LoadTopicMetadata: a consumer may start before Kafka does, and must not wait here.
  producer_->DeclareTopic(topic_);
}

void DeadLetterPublisher::OnDelivery(const kafka::DeliveryReport& report) {
  if (report.ok()) {
    delivered_.fetch_add(1);
  } else {
    last_error_ = report.error_code + ": " + report.error_message;
    failed_.fetch_add(1);
  }
}

void DeadLetterPublisher::Publish(const Batch& batch, std::chrono::milliseconds timeout) {
  if (batch.dead_letters.empty()) return;
  std::lock_guard lock(publish_mutex_);
  delivered_ = 0;
  failed_ = 0;
  const std::string failed_at = IsoUtc(std::chrono::system_clock::now());
  for (const DeadLetter& letter : batch.dead_letters) {
    const Record& record = batch.records[letter.record];
    kafka::OutgoingMessage message;
    message.topic = topic_;
    if (record.key) message.key = *record.key;
    if (record.value) message.value = *record.value;
    message.headers = DeadLetterHeaders(record, letter, group_id_, failed_at);
    // Same partition as the original where the topic has it, so order per key survives.
    producer_->Produce(message);
  }
  const bool flushed = producer_->Flush(timeout);
  const auto expected = static_cast<int64_t>(batch.dead_letters.size());
  if (!flushed || failed_.load() > 0 || delivered_.load() < expected) {
    throw TransientError("DLQ", "dead-letter topic " + topic_ + ": " +
                                    std::to_string(delivered_.load()) + " of " +
                                    std::to_string(expected) + " delivered" +
                                    (last_error_.empty() ? "" : " (" + last_error_ + ")"));
  }
}

void InsertDeadLetters(pg::Connection& connection, const Batch& batch, const std::string& group_id,
                       const std::string& target_schema) {
  for (const DeadLetter& letter : batch.dead_letters) {
    const Record& record = batch.records[letter.record];
    nlohmann::json headers = nlohmann::json::array();
    for (const kafka::Header& header : record.Headers()) {
      headers.push_back(
          {{"key", header.key}, {"value", header.value ? nlohmann::json(*header.value) : nullptr}});
    }
    const RecordPosition& at = record.position;
    connection.Exec(
        "INSERT INTO cdc.dead_letters (group_id, topic, partition, \"offset\", key, value, headers,"
        " source_table, target_table, stage, error_class, error_code, error_message)"
        " VALUES ($1, $2, $3, $4, $5::bytea, $6::bytea, $7::jsonb,"
        " COALESCE($8, (SELECT source_table FROM cdc.tables WHERE target_schema = $14"
        "  AND topic = $2 ORDER BY target_table LIMIT 1)),"
        " COALESCE($9, (SELECT target_table FROM cdc.tables WHERE target_schema = $14"
        "  AND topic = $2 ORDER BY target_table LIMIT 1)), $10, $11, $12, $13)",
        {group_id, at.topic, std::to_string(at.partition), std::to_string(at.offset),
         record.key ? pg::Param(ByteaHex(*record.key)) : std::nullopt,
         record.value ? pg::Param(ByteaHex(*record.value)) : std::nullopt,
         headers.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
         letter.source_table.empty() ? std::nullopt : pg::Param(letter.source_table),
         letter.target_table.empty() ? std::nullopt : pg::Param(letter.target_table), letter.stage,
         letter.error_class, CleanText(letter.error_code), CleanText(letter.message),
         target_schema});
  }
}

}  // namespace cdc::consumer
