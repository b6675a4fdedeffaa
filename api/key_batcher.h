// Answers many one-row reads by key (GET /rows/{key}) with one statement per table and column
// list. The API's I/O threads gather the by-key requests of one event-loop turn (http_server.h)
// and answer them here together: under load PostgreSQL sees a few statements of many keys
// instead of one round trip per request, which is where a by-key read spends most of its time
// on a small machine.
//
// Errors: a statement that fails because one key value is invalid for its column (VAL_002) is
// retried key by key, so only that request gets the error; any other failure (timeout,
// database unavailable) goes to every lookup of the statement. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/query.h"
#include "api/response.h"
#include "api/table_catalog.h"
#include "common/pg/connection.h"

namespace cdc::api {

class KeyBatcher {
 public:
  // Runs a statement on a pooled connection; database failures are thrown as ApiErrors.
  using Runner = std::function<pg::Result(const Statement&)>;

  KeyBatcher(Runner run, size_t max_batch);

  // The row of a key: fields [0] = key position (ignore), then the key columns, then the
  // columns asked for, as KeysStatement selects them. `result` is null when the table has no
  // visible row with this key.
  struct Found {
    std::shared_ptr<const pg::Result> result;
    int row = -1;
  };
  // One lookup: `key` in, the outcome out (exactly one of found, error, failure is set).
  struct KeyLookup {
    const std::vector<std::string>* key = nullptr;
    Found found;
    std::optional<ApiError> error;
    std::exception_ptr failure;  // anything but an ApiError
  };
  // Answers `lookups` (all of `table` and `columns`) on the calling thread, in statements of at
  // most max_batch keys. Never throws: every outcome lands in its lookup.
  void AnswerAll(const std::shared_ptr<const ApiTable>& table, const std::vector<size_t>& columns,
                 const std::vector<KeyLookup*>& lookups);

  // Statements run and keys sent in them since start (keys / statements = the mean batch size).
  int64_t statements() const { return statements_.load(); }
  int64_t keys() const { return keys_.load(); }

 private:
  // One statement for `batch`.
  void Answer(const ApiTable& table, const std::vector<size_t>& columns,
              const std::vector<KeyLookup*>& batch);

  const Runner run_;
  const size_t max_batch_;
  std::atomic<int64_t> statements_{0};
  std::atomic<int64_t> keys_{0};
};

}  // namespace cdc::api
