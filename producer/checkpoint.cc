#include "producer/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "common/kafka/topic_reader.h"

namespace cdc::producer {
std::string_view SnapshotStateName(SnapshotPosition::State state) {
  switch (state) {
    case SnapshotPosition::State::kNone:
      return "none";
    case SnapshotPosition::State::kRunning:
      return "running";
    case SnapshotPosition::State::kDone:
      return "done";
  }
  return "none";
}

std::string ColumnsFingerprint(const event::TableMeta& table) {
  uint64_t hash = 14695981039346656037ULL;
  for (const event::ColumnMeta& column : table.columns) {
    // The name and what decides a value's representation: a numeric whose scale grew held
    // rounded values until ddl --apply widened its change-table column.
    const std::string part = column.name + '\0' + std::to_string(static_cast<int>(column.type)) +
                             ',' + std::to_string(column.precision) + ',' +
                             std::to_string(column.scale) + '\0';
    for (const char c : part) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

std::string CheckpointKey(const std::string& pipeline, const std::string& table) {
  return pipeline + "/" + table;
}

std::string EncodeCheckpoint(const std::string& pipeline, const std::string& table,
                             const TablePosition& position, const std::string& updated_at) {
  nlohmann::json snapshot = {{"state", SnapshotStateName(position.snapshot.state)},
                             {"id", position.snapshot.id},
                             {"backfill", position.snapshot.backfill},
                             {"rows", position.snapshot.rows}};
  if (position.snapshot.after_key) {
    nlohmann::json key = nlohmann::json::array();
    for (const auto& part : *position.snapshot.after_key) {
      key.push_back(part ? nlohmann::json(*part) : nlohmann::json(nullptr));
    }
    snapshot["after_key"] = std::move(key);
  } else {
    snapshot["after_key"] = nullptr;
  }
  nlohmann::json gaps = nlohmann::json::array();
  for (const SeqRange& gap : position.gaps) gaps.push_back({gap.first, gap.last});
  nlohmann::json record = {{"pipeline", pipeline},
                           {"table", table},
                           {"watermark", position.watermark},
                           {"high", std::max(position.high, position.watermark)},
                           {"gaps", std::move(gaps)},
                           {"snapshot", std::move(snapshot)},
                           {"updated_at", updated_at}};
  if (!position.columns.empty()) record["columns"] = position.columns;
  if (position.not_null) record["not_null"] = *position.not_null;
  if (!position.tips.empty()) {
    nlohmann::json tips = nlohmann::json::array();
    for (const auto& [partition, tip] : position.tips) {
      tips.push_back({partition, tip.offset, tip.content});
    }
    record["tips"] = std::move(tips);
  }
  return record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<TablePosition> DecodeCheckpoint(std::string_view json) {
  const nlohmann::json record = nlohmann::json::parse(json, nullptr, false);
  if (!record.is_object() || !record.contains("watermark") ||
      !record["watermark"].is_number_integer() || !record.contains("snapshot") ||
      !record["snapshot"].is_object()) {
    return std::nullopt;
  }
  TablePosition position;
  position.watermark = record["watermark"].get<int64_t>();
  const nlohmann::json& snapshot = record["snapshot"];
  const std::string state = snapshot.value("state", "none");
  if (state == "running") {
    position.snapshot.state = SnapshotPosition::State::kRunning;
  } else if (state == "done") {
    position.snapshot.state = SnapshotPosition::State::kDone;
  } else if (state != "none") {
    return std::nullopt;
  }
  // Records written before "high" existed: everything above the watermark is read again.
  position.high = position.watermark;
  if (record.contains("high")) {
    if (!record["high"].is_number_integer()) return std::nullopt;
    position.high = std::max(position.watermark, record["high"].get<int64_t>());
  }
  if (record.contains("gaps")) {
    if (!record["gaps"].is_array()) return std::nullopt;
    for (const nlohmann::json& gap : record["gaps"]) {
      if (!gap.is_array() || gap.size() != 2 || !gap[0].is_number_integer() ||
          !gap[1].is_number_integer()) {
        return std::nullopt;
      }
      position.gaps.push_back({gap[0].get<int64_t>(), gap[1].get<int64_t>()});
    }
  }
  if (record.contains("columns")) {
    if (!record["columns"].is_string()) return std::nullopt;
    position.columns = record["columns"].get<std::string>();
  }
  // A record without the field was written by a producer that published every field nullable.
  position.not_null.emplace();
  if (record.contains("not_null")) {
    if (!record["not_null"].is_array()) return std::nullopt;
    for (const nlohmann::json& name : record["not_null"]) {
      if (!name.is_string()) return std::nullopt;
      position.not_null->push_back(name.get<std::string>());
    }
  }
  if (record.contains("tips")) {
    if (!record["tips"].is_array()) return std::nullopt;
    for (const nlohmann::json& tip : record["tips"]) {
      if (!tip.is_array() || tip.size() != 3 || !tip[0].is_number_integer() ||
          !tip[1].is_number_integer() || !tip[2].is_number_unsigned()) {
        return std::nullopt;
      }
      position.tips[tip[0].get<int32_t>()] = {tip[1].get<int64_t>(), tip[2].get<uint64_t>()};
    }
  }
  position.snapshot.id = snapshot.value("id", int64_t{0});
  position.snapshot.backfill = snapshot.value("backfill", false);
  position.snapshot.rows = snapshot.value("rows", int64_t{0});
  if (snapshot.contains("after_key") && snapshot["after_key"].is_array()) {
    KeysetPosition key;
    for (const nlohmann::json& part : snapshot["after_key"]) {
      if (part.is_null()) {
        key.emplace_back(std::nullopt);
      } else if (part.is_string()) {
        key.emplace_back(part.get<std::string>());
      } else {
        return std::nullopt;
      }
    }
    position.snapshot.after_key = std::move(key);
  }
  return position;
}

std::map<std::string, TablePosition> LoadCheckpoints(const kafka::KafkaSettings& settings,
                                                     const std::string& topic,
                                                     const std::string& pipeline,
                                                     std::chrono::milliseconds timeout,
                                                     const Logger& logger) {
  const std::string group = "cdc-checkpoint-reader-" + std::to_string(getpid()) + "-" +
                            std::to_string(std::random_device{}());
  kafka::Consumer consumer(settings, group, nullptr, logger);
  kafka::TopicReader reader(consumer, topic);
  const std::string prefix = pipeline + "/";
  std::map<std::string, TablePosition> positions;
  reader.ReadToEnd(timeout, [&](const kafka::Message& message) {
    const std::string key(message.key().value_or(""));
    if (key.rfind(prefix, 0) != 0 || !message.value()) return;
    std::optional<TablePosition> position = DecodeCheckpoint(*message.value());
    if (!position) {
      logger.Warn(
          "skipping a malformed checkpoint record",
          {{"topic", topic}, {"partition", message.partition()}, {"offset", message.offset()}});
      return;
    }
    positions[key.substr(prefix.size())] = std::move(*position);
  });
  consumer.Close();
  return positions;
}

}  // namespace cdc::producer
