// A change event: one row change as it travels from the source to the topic and on to the
// target. Values are exact (see types.h for what each column type holds).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/event/types.h"

namespace cdc::event {

// One column value. Which alternative a column uses is fixed by its ColumnType:
//   int64_t     kInt32, kInt64, kDate (days since epoch), kTimestamp/kTimestampTz (micros)
//   double      kFloat32, kFloat64
//   bool        kBoolean
//   std::string kDecimal/kDecimalText (decimal text), kString, kUuid, kOther (text);
//               kBytes (raw bytes)
//   monostate   SQL NULL
using Value = std::variant<std::monostate, bool, int64_t, double, std::string>;
using Row = std::vector<Value>;  // aligned with TableMeta::columns

inline bool IsNull(const Value& value) { return std::holds_alternative<std::monostate>(value); }

enum class Op : char { kCreate = 'c', kUpdate = 'u', kDelete = 'd', kRead = 'r' };

struct SourceInfo {
  std::string name;  // pipeline.name
  std::string db;
  std::string schema;
  std::string table;
  int64_t seq = 0;               // change-table sequence number
  int64_t change_ts_micros = 0;  // when the source recorded the change (UTC micros)
  std::optional<std::string> txid;
  bool snapshot = false;

  bool operator==(const SourceInfo&) const = default;
};

struct ChangeEvent {
  Op op = Op::kCreate;
  std::optional<Row> before;  // kUpdate/kDelete (a delete may carry only the key columns)
  std::optional<Row> after;   // kCreate/kUpdate/kRead
  Row key;                    // key column values, in primary-key order
  SourceInfo source;
  int64_t ts_ms = 0;  // when the event was produced

  bool operator==(const ChangeEvent&) const = default;
};

// The key column values of `event`'s row image (after, else before); empty without an image.
Row KeyFromImage(const TableMeta& table, const ChangeEvent& event);

// Throws PermanentError("VALUE") unless `values` has `expected` entries (`what`: "row", "key").
void CheckArity(const TableMeta& table, const Row& values, size_t expected, const char* what);

}  // namespace cdc::event
