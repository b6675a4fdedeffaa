// The raw ODBC baseline of the benchmarks: one statement bulk-fetching every row in arrays of
// 1000 with buffers sized for the data (64 bytes a value), each value looked at once and nothing
// kept — the fastest plain fetch a client can make of the same rows.
#pragma once

#include <cstdint>
#include <string>

#include "common/odbc/odbc.h"

namespace cdc::testing {

struct RawFetch {
  int64_t rows = 0;
  size_t bytes = 0;  // of value text
  double seconds = 0;
  double RowsPerSecond() const { return seconds > 0 ? static_cast<double>(rows) / seconds : 0; }
};

RawFetch RawBulkFetch(odbc::Connection& db, const std::string& sql);

}  // namespace cdc::testing
