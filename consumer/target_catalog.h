// The target tables as they exist in PostgreSQL, created on first sight and evolved when an
// event's schema adds columns or widens types. Each change runs in its own short transaction
// under an advisory lock on the table (two consumers never race on DDL) and registers the table
// in cdc.tables. Caches what it has verified per (target, schema id). Not thread-safe: one
// catalog per apply lane (the advisory lock serialises their DDL too).
#pragma once

#include <map>
#include <set>
#include <string>

#include "common/event/types.h"
#include "common/log.h"
#include "common/pg/connection.h"
#include "consumer/target_schema.h"

namespace cdc::consumer {

class TargetCatalog {
 public:
  // `change_feed` (consumer.change_feed): tables get the change-feed index on _cdc_seq, existing
  // ones included.
  TargetCatalog(std::string schema, bool change_feed, Logger logger);

  // Makes `target` ready for events of `meta` with `schema_id`, using `connection` (not inside a
  // transaction). Returns the table as it now exists. Throws PermanentError("SCHEMA_INCOMPATIBLE")
  // when the event's schema cannot be applied, PermanentError("TABLE_CONFLICT") when the target
  // already replicates another source table; SQL errors with their class.
  const TargetTable& Prepare(pg::Connection& connection, const std::string& target,
                             const std::string& topic, const event::TableMeta& meta,
                             int32_t schema_id);

  // Reads a table from the catalog; nullopt when it does not exist.
  static std::optional<TargetTable> Load(pg::Connection& connection, const std::string& schema,
                                         const std::string& table);

  // Forgets everything verified (after a reconnect, or when a table may have been altered).
  void Invalidate();
  // Counts schema changes that could not be applied (for metrics).
  int64_t incompatible_count() const { return incompatible_; }

 private:
  struct Entry {
    TargetTable table;
    std::set<int32_t> verified;  // schema ids known to fit `table`
  };

  const std::string schema_;
  const bool change_feed_;
  const Logger logger_;
  std::map<std::string, Entry> tables_;
  int64_t incompatible_ = 0;
};

}  // namespace cdc::consumer
