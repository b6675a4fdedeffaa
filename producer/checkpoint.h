// Producer checkpoints: per table, the low watermark of confirmed changes and the snapshot's
// progress. They are written to producer.checkpoint_topic keyed by "<pipeline.name>/<table>" (the
// last record per key wins; on real Kafka the topic should be compacted) and read back at start.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/kafka/consumer.h"
#include "common/kafka/settings.h"
#include "common/log.h"
#include "producer/change_source.h"

namespace cdc::producer {

struct SnapshotPosition {
  enum class State { kNone, kRunning, kDone };
  State state = State::kNone;
  // The sequence number snapshot events carry; streaming continues above it. Every change at
  // or below it was committed before the snapshot began reading.
  int64_t handoff = 0;
  std::optional<KeysetPosition> after_key;  // last key of the last published chunk
  int64_t rows = 0;

  bool operator==(const SnapshotPosition&) const = default;
};

struct TablePosition {
  int64_t watermark = 0;  // every change <= watermark is delivered (streaming)
  SnapshotPosition snapshot;

  bool operator==(const TablePosition&) const = default;
};

std::string CheckpointKey(const std::string& pipeline, const std::string& table);
// The JSON record: {"pipeline","table","watermark","snapshot":{...},"updated_at"}.
std::string EncodeCheckpoint(const std::string& pipeline, const std::string& table,
                             const TablePosition& position, const std::string& updated_at);
// nullopt for a record that does not parse (logged by the caller and skipped).
std::optional<TablePosition> DecodeCheckpoint(std::string_view json);

// Reads every checkpoint of `pipeline` from `topic`: table -> last position.
std::map<std::string, TablePosition> LoadCheckpoints(const kafka::KafkaSettings& settings,
                                                     const std::string& topic,
                                                     const std::string& pipeline,
                                                     std::chrono::milliseconds timeout,
                                                     const Logger& logger);

}  // namespace cdc::producer
