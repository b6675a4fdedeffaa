// Coalesces concurrent one-row reads by key (GET /rows/{key}) into one statement per group.
//
// Requests for the same table and column list queue together. A request that finds fewer than
// `max_leaders` requests of its group already talking to PostgreSQL leads: it takes up to
// `max_batch` queued keys (its own among them, oldest first) and answers all of them with one
// KeysStatement, then hands every request its row. Under light load each request leads a batch
// of one, so none waits for company; under load the keys pile up while the leaders are busy, and
// PostgreSQL sees fewer, larger statements - fewer round trips and context switches, which is
// where a by-key read spends most of its time on a small machine.
//
// Errors: a batch that fails because one key value is invalid for its column (VAL_002) is
// retried key by key, so only that request gets the error; any other failure (timeout,
// database unavailable) goes to every request of the batch. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
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

  KeyBatcher(Runner run, int max_leaders, size_t max_batch);

  // The row of `key`: fields [0] = key position (ignore), then the key columns, then `columns`,
  // as KeysStatement selects them. `result` is null when the table has no visible row with
  // this key.
  struct Found {
    std::shared_ptr<const pg::Result> result;
    int row = -1;
  };
  Found Lookup(const std::shared_ptr<const ApiTable>& table, const std::vector<size_t>& columns,
               const std::vector<std::string>& key);

  // Statements run and keys sent in them since start (keys / statements = the mean batch size).
  int64_t statements() const { return statements_.load(); }
  int64_t keys() const { return keys_.load(); }
  // Requests waiting for their key to be put in a statement, now.
  size_t queued();

 private:
  // One request: its key, and once answered its outcome.
  struct Waiter {
    std::shared_ptr<const ApiTable> table;
    const std::vector<size_t>* columns = nullptr;
    const std::vector<std::string>* key = nullptr;
    std::condition_variable wake;
    bool lead = false;  // promoted to lead a batch
    bool done = false;
    Found found;
    std::optional<ApiError> error;
    std::exception_ptr failure;  // anything but an ApiError
  };
  struct Group {
    std::deque<Waiter*> queue;  // not yet in a batch, oldest first
    int leaders = 0;
  };
  // Runs `batch` (all of one group) and fills in every waiter's outcome; no lock held.
  void Answer(const std::vector<Waiter*>& batch);
  // Leads batches of `group_key` until `me` is answered; `lock` is held on entry and exit.
  void Lead(const std::string& group_key, Waiter& me, std::unique_lock<std::mutex>& lock);

  const Runner run_;
  const int max_leaders_;
  const size_t max_batch_;
  std::mutex mutex_;
  std::unordered_map<std::string, Group> groups_;  // by table and columns; erased when idle
  std::atomic<int64_t> statements_{0};
  std::atomic<int64_t> keys_{0};
};

}  // namespace cdc::api
