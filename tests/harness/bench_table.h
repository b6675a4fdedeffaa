// The 10-column table every benchmark uses (the producer benchmark's SQLite BENCH table, as the
// change events describe it): BENCH.ITEMS with a bigint key, integers, a decimal, a timestamp, a
// double, bounded and unbounded text.
#pragma once

#include "common/event/types.h"

namespace cdc::testing {

inline event::TableMeta BenchItemsTable() {
  using event::ColumnType;
  event::TableMeta table;
  table.db = "bench";
  table.schema = "BENCH";
  table.table = "ITEMS";
  table.columns = {
      {"ID", ColumnType::kInt64, 0, 0, 0, false, -5, {}},
      {"ACCOUNT", ColumnType::kInt32, 0, 0, 0, true, 4, {}},
      {"NAME", ColumnType::kString, 0, 0, 64, true, 12, {}},
      {"AMOUNT", ColumnType::kDecimal, 12, 2, 0, true, 3, {}},
      {"CREATED", ColumnType::kTimestamp, 0, 0, 0, true, 93, {}},
      {"SCORE", ColumnType::kFloat64, 0, 0, 0, true, 8, {}},
      {"STATUS", ColumnType::kString, 0, 0, 16, true, 12, {}},
      {"QTY", ColumnType::kInt32, 0, 0, 0, true, 4, {}},
      {"NOTE", ColumnType::kString, 0, 0, 0, true, -1, {}},
      {"REF", ColumnType::kInt64, 0, 0, 0, true, -5, {}},
  };
  table.key = {0};
  return table;
}

}  // namespace cdc::testing
