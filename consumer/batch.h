// A batch of consumed records on its way to PostgreSQL, and the decisions made on it before any
// SQL runs: which records are change events, which are skipped (tombstones), and - per target
// table and key - which event wins (the highest source seq; on a tie the later offset). Pure.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/event/change_event.h"
#include "common/event/types.h"
#include "common/kafka/message.h"

namespace cdc::consumer {

// Where a record came from (for offsets and dead letters).
struct RecordPosition {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;
};

// A consumed record, owned (it outlives the poll for dead-lettering and redrive).
struct Record {
  RecordPosition position;
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt = tombstone
  // The headers as given (redrive, tests), or - when `origin` is set - parsed from the consumed
  // message on first use: only JSON decoding and dead letters read them, and parsing six headers
  // per record cost the Avro path ~15% of the consumer's CPU. Parsing fills `headers` and lets
  // the message go.
  mutable std::vector<kafka::Header> headers;
  mutable std::shared_ptr<const kafka::Message> origin;

  const std::vector<kafka::Header>& Headers() const;
};

// A record that cannot be applied, with why.
struct DeadLetter {
  size_t record = 0;        // index of its record in the batch
  std::string stage;        // "decode" | "apply"
  std::string error_class;  // decode, schema_unknown, schema_incompatible, mapping, data,
                            // constraint, sql
  std::string error_code;   // SQLSTATE or our code
  std::string message;
  std::string source_table;  // when known
  std::string target_table;  // when known
};

// The error class of a permanent error for the dead-letter record and metrics.
std::string DeadLetterClass(const std::string& stage, const std::string& code);

// One decoded change event bound to its target table.
struct TableEvent {
  size_t record = 0;  // index of its record in the batch
  std::shared_ptr<const event::TableMeta> table;
  int32_t schema_id = 0;
  event::ChangeEvent event;
  std::string key_text;  // KeyText(table, key)
  std::string target;    // target table name (in the configured schema)
};

struct Batch {
  std::vector<Record> records;
  std::vector<TableEvent> events;        // decoded change events (tombstones have none)
  std::vector<DeadLetter> dead_letters;  // records that cannot be applied
  bool decoded = false;                  // events and dead_letters hold every record's decoding

  void Clear() {
    records.clear();
    events.clear();
    dead_letters.clear();
    decoded = false;
  }
};

// A target table's winning events, grouped by writer schema (one staged COPY per group).
struct TableWork {
  std::string target;  // target table name (in the configured schema)
  std::string source;  // SCHEMA.TABLE
  std::string topic;
  std::vector<const TableEvent*> events;  // winners, in batch order
};

// Per target, the winning event of each key: highest source seq, ties to the later record.
// `events` must outlive the result. Targets are returned in name order. Events whose entry in
// `excluded` is true (when it is not empty) take no part.
std::vector<TableWork> SelectWinners(const std::vector<TableEvent>& events,
                                     const std::vector<Record>& records,
                                     const std::vector<bool>& excluded = {});

// A record's identity in its log: FNV-1a 64 over its timestamp, key and value (with their
// presence), as a signed 64-bit value for PostgreSQL. Stable across versions and platforms: it is
// stored (cdc.offsets.last_fingerprint) and compared with the record read again later.
int64_t Fingerprint(const Record& record);

// Where a partition stands after a batch: the next offset to read, and the fingerprint of the
// record before it.
struct LogPosition {
  int64_t next_offset = 0;
  std::optional<int64_t> fingerprint;  // nullopt: unknown (legacy, rewound)
};

// The position per (topic, partition) after the records in the batch: one past the highest
// offset, with that record's fingerprint.
std::map<std::pair<std::string, int32_t>, LogPosition> NextPositions(
    const std::vector<Record>& records);

}  // namespace cdc::consumer
