// Producer checkpoints: per table, the low watermark of confirmed changes and the snapshot's
// progress. They are written to producer.checkpoint_topic keyed by "<pipeline.name>/<table>" (the
// last record per key wins; on real Kafka the topic should be compacted) and read back at start.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/kafka/consumer.h"
#include "common/kafka/settings.h"
#include "common/log.h"
#include "producer/change_source.h"

namespace cdc::producer {

struct SnapshotPosition {
  enum class State { kNone, kRunning, kDone };
  State state = State::kNone;
  // Identifies one snapshot (its start in microseconds since the epoch): a backfill request waits
  // until the snapshot with its id is done, across producer restarts.
  int64_t id = 0;
  bool backfill = false;  // requested by `cdc-producer snapshot`, not the initial snapshot
  std::optional<KeysetPosition> after_key;  // last key of the last published chunk
  int64_t rows = 0;

  bool operator==(const SnapshotPosition&) const = default;
};

// The last message the broker confirmed in a partition: its offset and ContentHash
// (producer/confirmed_check.h). Kept with a table's checkpoint, so that a restart can tell
// whether the broker still holds what the checkpoint covers.
struct ConfirmedTip {
  int64_t offset = -1;
  uint64_t content = 0;
  bool operator==(const ConfirmedTip&) const = default;
};

// Where a table stands: the stream's tracked position (every change <= watermark, and every one
// in (watermark, high] outside `gaps`, is delivered) and the snapshot's progress.
struct TablePosition {
  int64_t watermark = 0;
  int64_t high = 0;
  std::vector<SeqRange> gaps;
  SnapshotPosition snapshot;
  // ColumnsFingerprint of the columns the table was published with ("" in records written
  // before it existed): columns added or retyped while the producer ran, or while it was down,
  // are noticed against it and backfilled (producer.backfill_new_columns).
  std::string columns;
  // The columns published as non-null fields: those the table declared NOT NULL when it was
  // first published. A schema only ever gives one up (a NOT NULL the source dropped, a change
  // that held a NULL): a column added later is nullable with default null, and a field never
  // turns from nullable to non-null, so every new schema version reads the older ones' data
  // (BACKWARD compatible) and a table's key schema - its key bytes, each key's partition - stays.
  // nullopt before the table's first publication; a record written before the field existed
  // reads as empty: those tables published every field nullable, and keep doing so.
  std::optional<std::vector<std::string>> not_null;
  // The last confirmed message of each partition of the table's topic when the record was
  // written (none in records written before the field existed).
  std::map<int32_t, ConfirmedTip> tips;

  TrackedPosition tracked() const { return {watermark, high, gaps}; }
  void set_tracked(TrackedPosition position) {
    watermark = position.watermark;
    high = position.high;
    gaps = std::move(position.gaps);
  }
  bool operator==(const TablePosition&) const = default;
};

// A short text that changes when the set or order of `table`'s column names does, or a column's
// type, precision or scale (FNV-1a 64, as 16 hex digits).
std::string ColumnsFingerprint(const event::TableMeta& table);

// "none", "running" or "done" (the checkpoint's and the /snapshots command's spelling).
std::string_view SnapshotStateName(SnapshotPosition::State state);

std::string CheckpointKey(const std::string& pipeline, const std::string& table);
// The JSON record: {"pipeline","table","watermark","high","gaps":[[first,last],...],
// "snapshot":{"state","id","backfill","rows","after_key"},"columns","not_null",
// "tips":[[partition,offset,content],...],"updated_at"}.
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
