// Applies one batch to PostgreSQL in one transaction: staged COPY, version-guarded upserts and
// deletes per target table, remembered deletes, dead letters (topic delivery confirmed first,
// then their cdc.dead_letters rows), cdc.offsets for every partition of the batch, cdc.tables
// progress, COMMIT. A record that fails on its own (SQLSTATE 22/23/42, a value PostgreSQL cannot
// hold, an incompatible schema) is isolated by halving its table's events under savepoints and
// dead-lettered; everything else in the batch is applied.
// Thread: the consumer loop (one applier per connection).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/pg/connection.h"
#include "consumer/apply_sql.h"
#include "consumer/batch.h"
#include "consumer/dead_letters.h"
#include "consumer/settings.h"
#include "consumer/target_catalog.h"

namespace cdc::consumer {

struct TableOutcome {
  std::string source;
  int64_t upserted = 0;                  // rows inserted or updated
  int64_t deleted = 0;                   // rows deleted (or soft-deleted)
  std::map<char, int64_t> events_by_op;  // winning events applied, by op
  int64_t stale = 0;  // winning events the version guard skipped (older than the row)
};

struct ApplyOutcome {
  std::map<std::string, TableOutcome> tables;  // by target table
  size_t dead_letters = 0;
  size_t superseded = 0;  // events replaced by a newer one for the same key in the batch
};

class BatchApplier {
 public:
  // `catalog` and `dead_letters` must outlive the applier; `dead_letters` may be null when the
  // caller handles dead letters itself (redrive).
  BatchApplier(const ConsumerSettings& settings, TargetCatalog& catalog,
               DeadLetterPublisher* dead_letters, Logger logger);

  // Applies `batch` (records decoded by RecordDecoder). Adds apply-stage dead letters to
  // batch.dead_letters. With `write_offsets`, cdc.offsets moves past every record. `before_commit`
  // (optional) runs inside the transaction just before COMMIT.
  // Throws TransientError when nothing was committed and the same batch must be retried (the
  // batch is then as it was on entry), FatalError when the consumer must stop.
  ApplyOutcome Apply(pg::Connection& connection, Batch& batch, bool write_offsets,
                     const std::function<void(pg::Connection&)>& before_commit = nullptr);

 private:
  struct Group;
  void ApplyGroup(pg::Connection& connection, Batch& batch, Group& group, TableOutcome& outcome);
  void ApplyRange(pg::Connection& connection, Batch& batch, Group& group, size_t begin, size_t end,
                  TableOutcome& outcome, int depth);

  // The staging tables on the connection last used, by target table and column list. A table
  // created by a transaction that rolled back is forgotten; after a catalog refresh (the target
  // changed) they are all dropped and made again.
  // Every COMMIT that touched a temporary table empties every ON COMMIT DELETE ROWS table of the
  // session, used or not (~0.4 ms each: the table, its TOAST table and that one's index), while
  // making a stage again and dropping it costs ~1 ms. So a stage that the connection's last
  // kStageIdleBatches batches did not use is dropped, and at most kMaxStages are kept.
  static constexpr size_t kMaxStages = 32;
  static constexpr uint64_t kStageIdleBatches = 8;
  struct Stage {
    std::string name;
    bool dirty = false;     // holds rows of an earlier subset of this transaction
    uint64_t used = 0;      // batch counter of its last use
    std::string signature;  // the target's columns and types when it was made
    std::map<std::string, std::string> types;  // those types by column (format_type)
  };
  Stage& StageFor(pg::Connection& connection, StageSpec& spec);
  void ForgetStages();

  const ConsumerSettings& settings_;
  TargetCatalog& catalog_;
  DeadLetterPublisher* const dead_letters_;
  const Logger logger_;
  bool catalog_refreshed_ = false;  // this batch already retried once after a catalog refresh
  std::map<std::string, Stage> stages_;
  std::vector<std::string> created_stages_;  // keys of stages_ created by the open transaction
  std::vector<std::string> stale_stages_;    // to drop at the next transaction's start
  const pg::Connection* stages_connection_ = nullptr;
  int stages_backend_ = 0;
  int next_stage_ = 0;
  uint64_t batches_ = 0;
};

}  // namespace cdc::consumer
