// Where each column's value is found in a result set read from a change table or a table: the
// plain column, or an exact read appended after the columns (see ExactReadExpression), with the
// plain column as the fallback where that read is NULL.
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
  // For `table`'s columns, which start at result column `first_column` (after the metadata
  // columns of a change table, or at 0); exact reads are over cdc_read."COLUMN".
  ColumnReads(SqlDialect dialect, const event::TableMeta& table, size_t first_column, ReadFrom from);

  // The expressions to append to the query.
  const std::vector<std::string>& exact_reads() const { return exact_reads_; }
  // The result columns the query has: `table_columns` plus the exact reads.
  size_t result_columns(size_t table_columns) const { return table_columns + exact_reads_.size(); }

  // The text of `table` column `column` in row `row` of `batch`; nullopt for NULL.
  std::optional<std::string_view> Value(const odbc::RowBatch& batch, size_t row,
                                        size_t column) const;

 private:
  std::vector<std::string> exact_reads_;
  std::vector<size_t> primary_;                  // per table column
  std::vector<std::optional<size_t>> fallback_;  // per table column
};

}  // namespace cdc::producer
