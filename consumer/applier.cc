#include "consumer/applier.h"

#include <algorithm>
#include <limits>
#include <tuple>

#include "common/error.h"
#include "common/event/temporal.h"
#include "common/sql_quote.h"
#include "consumer/apply_sql.h"
#include "consumer/group_lock.h"
#include "consumer/offsets.h"
#include "consumer/pg_binary.h"
#include "consumer/pg_text.h"

namespace cdc::consumer {
namespace {

bool IsDelete(const TableEvent& e) { return e.event.op == event::Op::kDelete; }

// The row image to stage: the after image, or for a delete none (key columns only).
const event::Row* StagedImage(const TableEvent& e) {
  if (IsDelete(e)) return nullptr;
  if (!e.event.after) {
    throw PermanentError("VALUE", "a '" + std::string(1, static_cast<char>(e.event.op)) +
                                      "' event without an after image");
  }
  return &*e.event.after;
}

// The value of column `c` to stage: from the image, or for a delete the key's (NULL elsewhere).
const event::Value& StagedValue(const TableEvent& e, const event::Row* image, size_t c) {
  static const event::Value kNull;
  if (image != nullptr) return (*image)[c];
  const auto k = std::find(e.table->key.begin(), e.table->key.end(), c);
  return k == e.table->key.end() ? kNull
                                 : e.event.key[static_cast<size_t>(k - e.table->key.begin())];
}

// The binary COPY row of one event (see StageLine), or "" when a value has no binary form.
std::string StageRecord(const TableEvent& e) {
  const event::TableMeta& table = *e.table;
  const event::Row* image = StagedImage(e);
  std::string record;
  record.reserve(192);
  AppendBinaryFieldCount(record, static_cast<int16_t>(table.columns.size() + 4));
  for (size_t c = 0; c < table.columns.size(); ++c) {
    if (!AppendBinaryValue(record, table.columns[c], StagedValue(e, image, c))) return {};
  }
  AppendBinaryInt64(record, e.event.source.seq);
  const char op = static_cast<char>(e.event.op);
  AppendBinaryBytes(record, std::string_view(&op, 1));
  AppendBinaryTimestamp(record, e.event.source.change_ts_micros);
  AppendBinaryBytes(record, e.key_text);
  return record;
}

// The COPY line of one event: its columns (a delete: key columns only), then the metadata.
std::string StageLine(const TableEvent& e) {
  const event::TableMeta& table = *e.table;
  std::string line;
  line.reserve(128);
  const event::Row* image = StagedImage(e);
  for (size_t c = 0; c < table.columns.size(); ++c) {
    if (c > 0) line.push_back('\t');
    AppendCopyValue(line, table.columns[c], StagedValue(e, image, c));
  }
  line.push_back('\t');
  line.append(std::to_string(e.event.source.seq));
  line.push_back('\t');
  line.push_back(static_cast<char>(e.event.op));
  line.push_back('\t');
  line.append(event::FormatTimestampTz(e.event.source.change_ts_micros));
  line.push_back('\t');
  pg::AppendCopyField(line, e.key_text);
  line.push_back('\n');
  return line;
}

}  // namespace

struct BatchApplier::Group {
  StageSpec spec;
  std::string source;
  std::vector<const TableEvent*> events;
  std::vector<std::string> lines;  // aligned with events: COPY text lines or binary rows
  bool binary = false;
  std::string copy_sql, upsert_sql, checked_upsert_sql, delete_sql, remember_sql, clear_sql;
  Stage* stage = nullptr;
};

BatchApplier::BatchApplier(const ConsumerSettings& settings, TargetCatalog& catalog,
                           DeadLetterPublisher* dead_letters, Logger logger)
    : settings_(settings),
      catalog_(catalog),
      dead_letters_(dead_letters),
      logger_(std::move(logger)) {}

ApplyOutcome BatchApplier::Apply(pg::Connection& connection, Batch& batch, bool write_offsets,
                                 const std::function<void(pg::Connection&)>& before_commit) {
  const size_t decode_letters = batch.dead_letters.size();
  ++batches_;
  if (&connection != stages_connection_ || connection.backend_pid() != stages_backend_) {
    stages_.clear();  // a new session has none
    stale_stages_.clear();
    stages_connection_ = &connection;
    stages_backend_ = connection.backend_pid();
  }
  for (auto it = stages_.begin(); it != stages_.end();) {
    if (batches_ - it->second.used > kStageIdleBatches) {
      stale_stages_.push_back(it->second.name);
      it = stages_.erase(it);
    } else {
      ++it;
    }
  }
  while (stages_.size() > kMaxStages) {
    const auto oldest = std::min_element(stages_.begin(), stages_.end(), [](auto& a, auto& b) {
      return a.second.used < b.second.used;
    });
    stale_stages_.push_back(oldest->second.name);
    stages_.erase(oldest);
  }
  for (auto& [key, stage] : stages_) stage.dirty = false;  // the last COMMIT or ROLLBACK emptied it
  created_stages_.clear();
  try {
    ApplyOutcome outcome;
    // 1. Every (target, schema) must fit its table: create or evolve it first, in its own
    //    transaction. Events of a schema that cannot be applied are dead letters.
    std::vector<bool> excluded(batch.events.size(), false);
    std::map<std::pair<std::string, int32_t>, std::optional<Error>> prepared;
    for (size_t i = 0; i < batch.events.size(); ++i) {
      const TableEvent& e = batch.events[i];
      auto [it, inserted] = prepared.try_emplace({e.target, e.schema_id});
      if (inserted) {
        try {
          catalog_.Prepare(connection, e.target, batch.records[e.record].position.topic, *e.table,
                           e.schema_id);
        } catch (const PermanentError& error) {
          it->second.emplace(error);
        }
      }
      if (it->second) {
        excluded[i] = true;
        batch.dead_letters.push_back(
            {e.record, "apply", DeadLetterClass("apply", it->second->code()), it->second->code(),
             it->second->what(), e.table->QualifiedName(), e.target});
      }
    }

    // 2. One transaction: per table, the winning event of each key, staged and applied.
    pg::Transaction tx(connection);
    const size_t dropping = stale_stages_.size();
    if (dropping > 0) {
      std::string names;
      for (const std::string& name : stale_stages_) {
        names += (names.empty() ? "" : ", ") + QuoteIdentifier(SqlDialect::kPostgres, name);
      }
      connection.Exec("DROP TABLE IF EXISTS " + names);
    }
    std::vector<TableWork> work = SelectWinners(batch.events, batch.records, excluded);
    size_t winners = 0;
    for (TableWork& table : work) {
      TableOutcome& table_outcome = outcome.tables[table.target];
      table_outcome.source = table.source;
      winners += table.events.size();
      std::map<int32_t, Group> groups;  // by writer schema
      for (const TableEvent* e : table.events) {
        Group& group = groups[e->schema_id];
        if (group.events.empty()) {
          group.source = table.source;
          group.spec.schema = settings_.target_schema;
          group.spec.table = table.target;
          for (const event::ColumnMeta& column : e->table->columns) {
            group.spec.columns.push_back(TargetColumnName(column.name));
          }
          for (const size_t k : e->table->key) {
            group.spec.key.push_back(TargetColumnName(e->table->columns[k].name));
          }
        }
        group.events.push_back(e);
      }
      for (auto& [schema_id, group] : groups) ApplyGroup(connection, batch, group, table_outcome);
    }
    outcome.superseded = batch.events.size() - winners -
                         static_cast<size_t>(std::count(excluded.begin(), excluded.end(), true));

    // 3. Dead letters: delivered to the topic before the transaction that records them commits.
    if (dead_letters_ != nullptr && !batch.dead_letters.empty()) {
      for (DeadLetter& letter : batch.dead_letters) {
        if (letter.error_class.empty()) letter.error_class = "sql";
      }
      dead_letters_->Publish(batch, std::chrono::seconds(30));
      InsertDeadLetters(connection, batch, settings_.group_id, settings_.target_schema);
    }
    outcome.dead_letters = batch.dead_letters.size();

    // 4. Offsets and progress, in the same transaction.
    if (write_offsets) {
      if (settings_.member_rewinds) {
        GuardOffsetWrite(connection, settings_.group_id, *settings_.member_rewinds);
      }
      StoreOffsets(connection, settings_.group_id, NextPositions(batch.records));
    }
    for (const TableWork& table : work) {
      int64_t last_seq = 0;
      int64_t last_ts = 0;
      for (const TableEvent* e : table.events) {
        last_seq = std::max(last_seq, e->event.source.seq);
        last_ts = std::max(last_ts, e->event.source.change_ts_micros);
      }
      const TableOutcome& counts = outcome.tables[table.target];
      connection.Exec(
          "UPDATE cdc.tables SET last_seq = GREATEST(COALESCE(last_seq, 0), $3::bigint),"
          " last_source_ts = GREATEST(last_source_ts, $4::timestamptz), last_applied_at = now(),"
          " rows_applied = rows_applied + $5, deletes_applied = deletes_applied + $6"
          " WHERE target_schema = $1 AND target_table = $2",
          {settings_.target_schema, table.target, std::to_string(last_seq),
           event::FormatTimestampTz(last_ts), std::to_string(counts.upserted),
           std::to_string(counts.deleted)});
    }
    if (before_commit) before_commit(connection);
    tx.Commit();
    stale_stages_.erase(stale_stages_.begin(),
                        stale_stages_.begin() + static_cast<std::ptrdiff_t>(dropping));
    catalog_refreshed_ = false;
    return outcome;
  } catch (...) {
    batch.dead_letters.resize(decode_letters);
    // The rollback undid the stages this transaction created.
    for (const std::string& key : created_stages_) stages_.erase(key);
    created_stages_.clear();
    throw;
  }
}

void BatchApplier::ApplyGroup(pg::Connection& connection, Batch& batch, Group& group,
                              TableOutcome& outcome) {
  // The staging table is typed as the target is now (StageFor re-makes it when the target's column
  // types changed), so a value the target cannot hold fails in COPY and is isolated there.
  group.stage = &StageFor(connection, group.spec);
  // Binary COPY when every staged column is typed as the contract maps its values (PostgreSQL
  // parses no text then: ~30% of the COPY's time); else, or when a value has no exact binary
  // form, text.
  group.binary = true;
  const std::vector<event::ColumnMeta>& columns = group.events.front()->table->columns;
  for (size_t c = 0; c < columns.size(); ++c) {
    const auto type = group.stage->types.find(group.spec.columns[c]);  // its target name
    if (type == group.stage->types.end() || !BinaryCopyFits(columns[c].type, type->second)) {
      group.binary = false;
    }
  }
  for (const auto& [column, type] : {std::pair{kSeqColumn, "bigint"},
                                     {kOpColumn, "character(1)"},
                                     {kSourceTsColumn, "timestamp with time zone"}}) {
    const auto found = group.stage->types.find(column);
    if (found == group.stage->types.end() || found->second != type) group.binary = false;
  }
  std::vector<const TableEvent*> events = std::move(group.events);
  std::vector<std::pair<const TableEvent*, Error>> failed;
  for (;;) {
    group.lines.clear();
    group.events.clear();
    failed.clear();
    bool fits = true;
    for (const TableEvent* e : events) {
      try {
        std::string line = group.binary ? StageRecord(*e) : StageLine(*e);
        if (line.empty()) {
          fits = false;
          break;
        }
        group.lines.push_back(std::move(line));
        group.events.push_back(e);
      } catch (const PermanentError& error) {
        failed.emplace_back(e, error);
      }
    }
    if (fits) break;
    group.binary = false;  // a value without a binary form: the whole group as text
  }
  for (const auto& [e, error] : failed) {
    batch.dead_letters.push_back({e->record, "apply", DeadLetterClass("apply", error.code()),
                                  error.code(), error.what(), group.source, group.spec.table});
  }
  if (group.events.empty()) return;
  group.copy_sql = CopyStageSql(group.spec, group.binary);
  group.upsert_sql = UpsertSql(group.spec, TombstoneCheck::kNone);
  group.checked_upsert_sql = UpsertSql(group.spec, TombstoneCheck::kChecked);
  group.delete_sql = DeleteSql(group.spec, settings_.delete_mode);
  group.remember_sql = RememberDeletesSql(group.spec);
  group.clear_sql = ClearStageSql(group.spec);
  ApplyRange(connection, batch, group, 0, group.events.size(), outcome, 0);
}

BatchApplier::Stage& BatchApplier::StageFor(pg::Connection& connection, StageSpec& spec) {
  std::string key = spec.table;
  for (const std::string& column : spec.columns) key += "\n" + column;
  // The target's column types now: an operator may have altered one since the stage was made,
  // and a stage typed as before would let the upsert's assignment cast change values (12.50 into
  // an integer column is 13) instead of failing the record.
  const pg::Result types =
      connection.ExecPrepared(TargetColumnTypesSql(), {spec.schema, spec.table});
  std::string signature;
  for (int row = 0; row < types.rows(); ++row) {
    signature.append(types.Get(row, 0)).append(" ").append(types.Get(row, 1)).append("\n");
  }
  auto [it, created] = stages_.try_emplace(key);
  if (!created && it->second.signature != signature) {
    stale_stages_.push_back(it->second.name);
    stages_.erase(it);
    std::tie(it, created) = stages_.try_emplace(key);
  }
  Stage& stage = it->second;
  if (created) {
    stage.name = "_cdc_stage_" + std::to_string(next_stage_++);
    stage.signature = signature;
    for (int row = 0; row < types.rows(); ++row) {
      stage.types.emplace(types.Get(row, 0), types.Get(row, 1));
    }
    spec.stage = stage.name;
    try {
      connection.Exec(CreateStageSql(spec));
    } catch (...) {
      stages_.erase(it);
      throw;
    }
    created_stages_.push_back(key);
  }
  spec.stage = stage.name;
  stage.used = batches_;
  return stage;
}

void BatchApplier::ForgetStages() {
  for (const auto& [key, stage] : stages_) stale_stages_.push_back(stage.name);
  stages_.clear();
  created_stages_.clear();
}

void BatchApplier::ApplyRange(pg::Connection& connection, Batch& batch, Group& group, size_t begin,
                              size_t end, TableOutcome& outcome, int depth) {
  size_t bytes = 0;
  size_t deletes = 0;
  int64_t lowest_upsert_seq = std::numeric_limits<int64_t>::max();
  for (size_t i = begin; i < end; ++i) {
    bytes += group.lines[i].size();
    if (IsDelete(*group.events[i])) {
      ++deletes;
    } else {
      lowest_upsert_seq = std::min(lowest_upsert_seq, group.events[i]->event.source.seq);
    }
  }
  std::string data;
  data.reserve(bytes + 32);
  if (group.binary) AppendBinaryCopyHeader(data);
  for (size_t i = begin; i < end; ++i) data += group.lines[i];
  if (group.binary) AppendBinaryCopyTrailer(data);
  const std::vector<pg::Param> table = {group.spec.schema, group.spec.table};
  if (group.stage->dirty) {
    connection.Exec(group.clear_sql);
    group.stage->dirty = false;
  }
  connection.Exec("SAVEPOINT cdc_apply");
  try {
    connection.CopyIn(group.copy_sql, data);
    int64_t upserted = 0;
    if (end - begin > deletes) {
      // Streaming: every remembered delete is older than these events, so none can block them;
      // replaying: check them.
      const pg::Result newest =
          connection.Exec(NewestTombstoneSql(), {group.spec.schema, group.spec.table});
      const bool blocked_possible = newest.rows() > 0 && newest.GetInt(0, 0) >= lowest_upsert_seq;
      upserted = blocked_possible
                     ? connection
                           .Exec(group.checked_upsert_sql, {group.spec.schema, group.spec.table,
                                                            std::to_string(lowest_upsert_seq)})
                           .affected()
                     : connection.Exec(group.upsert_sql).affected();
    }
    int64_t deleted = 0;
    if (deletes > 0) {
      deleted = connection.Exec(group.delete_sql).affected();
      connection.Exec(group.remember_sql, table);
    }
    connection.Exec("RELEASE SAVEPOINT cdc_apply");
    group.stage->dirty = true;
    outcome.upserted += upserted;
    outcome.deleted += deleted;
    outcome.stale += static_cast<int64_t>(end - begin) - upserted - deleted;
    for (size_t i = begin; i < end; ++i) {
      ++outcome.events_by_op[static_cast<char>(group.events[i]->event.op)];
    }
  } catch (const PermanentError& error) {
    connection.Exec("ROLLBACK TO SAVEPOINT cdc_apply");
    connection.Exec("RELEASE SAVEPOINT cdc_apply");
    // A missing column or table usually means the table changed under us: refresh what the
    // catalog knows and retry the batch once before blaming single records.
    if (depth == 0 && error.code().rfind("42", 0) == 0 && !catalog_refreshed_) {
      catalog_refreshed_ = true;
      catalog_.Invalidate();
      ForgetStages();  // typed as the target was
      throw TransientError("CATALOG",
                           std::string("target table changed; retrying: ") + error.what());
    }
    if (end - begin == 1) {
      const TableEvent& e = *group.events[begin];
      batch.dead_letters.push_back({e.record, "apply", DeadLetterClass("apply", error.code()),
                                    error.code(), error.what(), group.source, group.spec.table});
      logger_.Warn("record dead-lettered", {{"table", group.spec.table},
                                            {"topic", batch.records[e.record].position.topic},
                                            {"offset", batch.records[e.record].position.offset},
                                            {"code", error.code()},
                                            {"error", error.what()}});
      return;
    }
    const size_t middle = begin + (end - begin) / 2;
    ApplyRange(connection, batch, group, begin, middle, outcome, depth + 1);
    ApplyRange(connection, batch, group, middle, end, outcome, depth + 1);
  }
}

}  // namespace cdc::consumer
