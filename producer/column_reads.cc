#include "producer/column_reads.h"

namespace cdc::producer {

ColumnReads::ColumnReads(SqlDialect dialect, const event::TableMeta& table,
                         const std::vector<std::string_view>& leading, ReadFrom from) {
  auto q = [&](std::string_view name) { return "cdc_read." + QuoteIdentifier(dialect, name); };
  const bool in_place = from == ReadFrom::kTable || dialect == SqlDialect::kSqlite;
  std::vector<std::string> list;
  if (in_place) {
    for (std::string_view name : leading) list.push_back(q(name));
  } else {
    list.push_back("cdc_read.*");
  }
  std::vector<std::string> appended;
  for (size_t c = 0; c < table.columns.size(); ++c) {
    const event::ColumnMeta& column = table.columns[c];
    const std::optional<std::string> exact =
        ExactReadExpression(dialect, column, q(column.name), from);
    if (in_place) {
      index_.push_back(leading.size() + c);
      list.push_back(exact ? *exact + " AS " + QuoteIdentifier(dialect, column.name)
                           : q(column.name));
    } else if (exact) {
      index_.push_back(leading.size() + table.columns.size() + appended.size());
      appended.push_back(*exact);
    } else {
      index_.push_back(leading.size() + c);
    }
  }
  list.insert(list.end(), appended.begin(), appended.end());
  for (size_t i = 0; i < list.size(); ++i) select_list_ += (i ? ", " : "") + list[i];
  result_columns_ = leading.size() + table.columns.size() + appended.size();
}

}  // namespace cdc::producer
