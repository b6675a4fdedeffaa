// What a change table and its trigger(s) cannot hold, checked before `ddl` creates anything:
// names the dialect cannot hold or would mix up (metadata-column names, identifiers over the
// limit, too many columns) and, on PostgreSQL, rows that could pass its row-size limit.
#pragma once

#include <string>
#include <vector>

#include "common/event/types.h"
#include "producer/ddl.h"
#include "producer/dialect.h"

namespace cdc::producer {

// One problem per reason `table` cannot be captured into `change_table`, each naming the column
// or object and the limit; empty when it can.
std::vector<std::string> CaptureProblems(SqlDialect dialect, const event::TableMeta& table,
                                         const TableName& change_table,
                                         const CaptureOptions& options);

}  // namespace cdc::producer
