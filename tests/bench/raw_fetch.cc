#include "tests/bench/raw_fetch.h"

#include <chrono>
#include <vector>

namespace cdc::testing {

RawFetch RawBulkFetch(odbc::Connection& db, const std::string& sql) {
  const auto start = std::chrono::steady_clock::now();
  odbc::Statement statement(db);
  statement.ExecuteDirect(sql);
  statement.SetFetchWidths(std::vector<size_t>(statement.Columns().size(), 64));
  odbc::RowBatch batch;
  RawFetch fetch;
  while (statement.FetchBatch(batch, 1000, 4096)) {
    for (size_t r = 0; r < batch.rows(); ++r) {
      for (size_t c = 0; c < batch.columns(); ++c) {
        fetch.bytes += batch.Get(r, c).value_or("").size();
      }
    }
    fetch.rows += static_cast<int64_t>(batch.rows());
  }
  fetch.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return fetch;
}

}  // namespace cdc::testing
