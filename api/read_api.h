// The API's endpoints over PostgreSQL: replicated tables (listing, keyset-paginated rows with
// typed filters, one row by key, the change feed with long-poll) and the pipeline's status from
// the cdc.* tables. Each call borrows a pooled connection per query; database failures become
// ApiErrors (unreachable: SYS_003, statement timeout: SYS_002, a value PostgreSQL rejects:
// VAL_002). Thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "api/key_batcher.h"
#include "api/pool.h"
#include "api/query.h"
#include "api/response.h"
#include "api/settings.h"
#include "api/table_catalog.h"
#include "common/clock.h"
#include "common/error.h"

namespace cdc::api {

struct Reply {
  std::string data;  // JSON text
  std::optional<Pagination> pagination;
};

class ReadApi {
 public:
  // Every reference must outlive the object.
  ReadApi(const ApiSettings& settings, ConnectionPool& pool, TableCatalog& catalog, Clock& clock);

  Reply Tables();
  // `table`: the percent-decoded target name or SCHEMA.TABLE.
  Reply Rows(std::string_view table, const QueryParams& params);
  // `raw_key`: the key path segment as sent. One statement for this key alone.
  Reply Row(std::string_view table, std::string_view raw_key, const QueryParams& params);
  // Row in two steps, for callers that answer many by-key requests with one statement
  // (KeyBatcher::AnswerAll): what to look up (throws ApiError for a bad request), then the reply
  // from what was found (throws BIZ_001 when nothing was).
  struct RowLookup {
    std::shared_ptr<const ApiTable> table;
    std::vector<size_t> columns;
    std::vector<std::string> key;
  };
  RowLookup PrepareRow(std::string_view table, std::string_view raw_key, const QueryParams& params);
  static Reply RowReply(const RowLookup& lookup, const KeyBatcher::Found& found);
  // Long-polls up to wait_ms (<= 30000) for changes; `stop` ends the wait early.
  Reply Changes(std::string_view table, const QueryParams& params, std::stop_token stop);
  Reply Status();
  Reply DeadLetters(const QueryParams& params);
  // POST /dead-letters/{id}/discard with {"reason": "..."}: gives up an open letter (kept, with
  // `by`, the time and the reason). Discarding a discarded letter again changes nothing; a
  // redriven one is a conflict (409).
  Reply DiscardDeadLetter(std::string_view raw_id, std::string_view body, const std::string& by);
  // Empty when PostgreSQL answers and the cdc schema exists, else the reason.
  std::optional<std::string> NotReady();

  static constexpr int64_t kMaxWaitMs = 30'000;
  // GET /rows/{key} requests of one event-loop turn share statements (see key_batcher.h): at
  // most this many keys per statement.
  static constexpr size_t kMaxKeysPerStatement = 64;

  KeyBatcher& key_batcher() { return key_batcher_; }

 private:
  static constexpr auto kAcquireWait = std::chrono::seconds(5);
  // Calls fn(connection) with a pooled connection; once more on a fresh one when the pooled
  // connection turns out to be broken.
  template <typename Fn>
  auto WithConnection(Fn&& fn);
  // Runs `statement` on a pooled connection, translating database errors.
  pg::Result Run(const Statement& statement);
  std::shared_ptr<const ApiTable> Table(std::string_view name);
  nlohmann::json TablesJson();

  const ApiSettings& settings_;
  ConnectionPool& pool_;
  TableCatalog& catalog_;
  Clock& clock_;
  KeyBatcher key_batcher_;
};

// Rejects parameters other than `allowed` (VAL_002 naming the first unknown one).
void OnlyParams(const QueryParams& params, std::initializer_list<std::string_view> allowed);

template <typename Fn>
auto ReadApi::WithConnection(Fn&& fn) {
  for (int attempt = 0;; ++attempt) {
    ConnectionPool::Lease connection = pool_.Acquire(kAcquireWait);
    try {
      return fn(*connection);
    } catch (const TransientError& e) {
      // A pooled connection the server dropped (restart, idle timeout): the lease discards it;
      // one more try on a fresh connection.
      if (attempt > 0 || connection->healthy() || e.code().rfind("08", 0) != 0) throw;
    }
  }
}

}  // namespace cdc::api
