// What a change query or a snapshot query selects, and where each column's value is found in its
// result: the plain column, or an exact read of it (ExactReadExpression) where the driver's own
// text of the plain column is not exact. An exact read takes the column's place in an explicit
// select list (snapshots; SQLite change tables, whose column changes the schema cookie notices),
// or is appended after `cdc_read.*` (other change tables: SELECT * shows an added column).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/event/types.h"
#include "common/odbc/odbc.h"
#include "producer/dialect.h"

namespace cdc::producer {

class ColumnReads {
 public:
  ColumnReads() = default;
  // For `table`'s columns, which follow `leading` (a change table's metadata columns, or none)
  // in the table read. Expressions are over cdc_read."COLUMN".
  ColumnReads(SqlDialect dialect, const event::TableMeta& table,
              const std::vector<std::string_view>& leading, ReadFrom from);

  // The select list, e.g. `cdc_read.*, CAST(cdc_read."T" AS text)`.
  const std::string& select_list() const { return select_list_; }
  // The result columns the query has.
  size_t result_columns() const { return result_columns_; }

  // The text of `table` column `column` in row `row` of `batch`; nullopt for NULL.
  std::optional<std::string_view> Value(const odbc::RowBatch& batch, size_t row,
                                        size_t column) const {
    return batch.Get(row, index_.at(column));
  }

 private:
  std::string select_list_;
  size_t result_columns_ = 0;
  std::vector<size_t> index_;  // per table column: its result column
};

}  // namespace cdc::producer
