#include "producer/column_reads.h"

namespace cdc::producer {

ColumnReads::ColumnReads(SqlDialect dialect, const event::TableMeta& table, size_t first_column,
                   ReadFrom from) {
  const size_t appended = first_column + table.columns.size();
  for (size_t c = 0; c < table.columns.size(); ++c) {
    const event::ColumnMeta& column = table.columns[c];
    const std::optional<ExactRead> exact = ExactReadExpression(
        dialect, column, "cdc_read." + QuoteIdentifier(dialect, column.name), from);
    if (!exact) {
      primary_.push_back(first_column + c);
      fallback_.emplace_back();
      continue;
    }
    const size_t index = appended + exact_reads_.size();
    primary_.push_back(index);
    fallback_.push_back(exact->null_means_column ? std::optional<size_t>(first_column + c)
                                                 : std::nullopt);
    exact_reads_.push_back(exact->sql);
  }
}

std::optional<std::string_view> ColumnReads::Value(const odbc::RowBatch& batch, size_t row,
                                                size_t column) const {
  std::optional<std::string_view> value = batch.Get(row, primary_.at(column));
  if (!value && fallback_[column]) value = batch.Get(row, *fallback_[column]);
  return value;
}

}  // namespace cdc::producer
