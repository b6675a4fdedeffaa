#include "consumer/target_catalog.h"

#include "common/error.h"
#include "common/sql_quote.h"

namespace cdc::consumer {

TargetCatalog::TargetCatalog(std::string schema, bool change_feed, Logger logger)
    : schema_(std::move(schema)), change_feed_(change_feed), logger_(std::move(logger)) {}

void TargetCatalog::Invalidate() { tables_.clear(); }

std::optional<TargetTable> TargetCatalog::Load(pg::Connection& connection,
                                               const std::string& schema,
                                               const std::string& table) {
  const pg::Result columns = connection.Exec(
      "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull"
      " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
      " JOIN pg_namespace n ON n.oid = c.relnamespace"
      " WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')"
      " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
      {schema, table});
  if (columns.rows() == 0) return std::nullopt;
  TargetTable result{schema, table, {}, {}, {}};
  for (int i = 0; i < columns.rows(); ++i) {
    const std::string name(columns.Get(i, 0));
    if (name.rfind("_cdc_", 0) == 0) continue;  // metadata columns
    result.columns.push_back({name, std::string(columns.Get(i, 1)), columns.Get(i, 2) == "t"});
  }
  const pg::Result key = connection.Exec(
      "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
      " JOIN pg_namespace n ON n.oid = c.relnamespace"
      " CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)"
      " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum"
      " WHERE i.indisprimary AND n.nspname = $1 AND c.relname = $2 ORDER BY k.ord",
      {schema, table});
  for (int i = 0; i < key.rows(); ++i) result.key.emplace_back(key.Get(i, 0));
  const pg::Result ours = connection.Exec(
      "SELECT unnest(source_not_null) FROM cdc.tables WHERE target_schema = $1"
      " AND target_table = $2",
      {schema, table});
  for (int i = 0; i < ours.rows(); ++i) result.source_not_null.emplace_back(ours.Get(i, 0));
  return result;
}

const TargetTable& TargetCatalog::Prepare(pg::Connection& connection, const std::string& target,
                                          const std::string& topic, const event::TableMeta& meta,
                                          int32_t schema_id) {
  const auto cached = tables_.find(target);
  if (cached != tables_.end() && cached->second.verified.count(schema_id) > 0) {
    return cached->second.table;
  }
  const std::string source = meta.QualifiedName();
  pg::Transaction tx(connection);
  // One DDL transaction at a time per target schema, across lanes and consumers: concurrent
  // CREATE SCHEMA IF NOT EXISTS (and CREATE TABLE of one name) fail with 23505 instead of
  // waiting. DDL is rare (first sight of a table, a new column), so the lock costs nothing.
  connection.Exec("SELECT pg_advisory_xact_lock(hashtext($1))", {"cdc.ddl." + schema_});
  connection.Exec("CREATE SCHEMA IF NOT EXISTS " + QuoteIdentifier(SqlDialect::kPostgres, schema_));
  const pg::Result registered = connection.Exec(
      "SELECT source_table FROM cdc.tables WHERE target_schema = $1 AND target_table = $2",
      {schema_, target});
  if (registered.rows() > 0 && registered.Get(0, 0) != source) {
    throw PermanentError("TABLE_CONFLICT",
                         "target " + schema_ + "." + target + " already replicates " +
                             std::string(registered.Get(0, 0)) + "; map " + source +
                             " to another table with consumer.table_map");
  }
  std::optional<TargetTable> existing = Load(connection, schema_, target);
  bool changed = false;
  std::vector<std::string> source_not_null;
  if (!existing) {
    source_not_null = TargetFor(schema_, target, meta).source_not_null;
    for (const std::string& statement : CreateTableSql(schema_, target, meta, change_feed_)) {
      connection.Exec(statement);
    }
    changed = true;
    logger_.Info("created target table",
                 {{"table", schema_ + "." + target}, {"source", source}, {"schema_id", schema_id}});
  } else {
    const EvolutionPlan plan = PlanEvolution(*existing, meta);
    if (plan.incompatible) {
      ++incompatible_;
      throw PermanentError("SCHEMA_INCOMPATIBLE", "schema " + std::to_string(schema_id) + " of " +
                                                      source + " cannot be applied to " + schema_ +
                                                      "." + target + ": " + *plan.incompatible);
    }
    for (const std::string& statement : plan.statements) connection.Exec(statement);
    source_not_null = plan.source_not_null;
    const std::string index = QuoteIdentifier(SqlDialect::kPostgres, schema_) + "." +
                              QuoteIdentifier(SqlDialect::kPostgres, ChangeFeedIndexName(target));
    if (change_feed_ &&
        connection.Exec("SELECT to_regclass($1) IS NULL", {index}).Get(0, 0) == "t") {
      // Turned on for a table made without it: built once, in this transaction.
      connection.Exec(ChangeFeedIndexSql(schema_, target));
      logger_.Info("created the change-feed index", {{"table", schema_ + "." + target}});
    }
    if (!plan.statements.empty()) {
      changed = true;
      logger_.Info("evolved target table",
                   {{"table", schema_ + "." + target},
                    {"schema_id", schema_id},
                    {"changes", static_cast<int64_t>(plan.statements.size())}});
    }
  }
  std::vector<std::string> key_columns;
  for (const size_t k : meta.key) key_columns.push_back(TargetColumnName(meta.columns[k].name));
  connection.Exec(
      "INSERT INTO cdc.tables (target_schema, target_table, source_table, topic, schema_id,"
      " key_columns, source_not_null) VALUES ($1, $2, $3, $4, $5, $6::text[], $7::text[])"
      " ON CONFLICT (target_schema, target_table) DO UPDATE SET topic = EXCLUDED.topic,"
      " schema_id = EXCLUDED.schema_id, key_columns = EXCLUDED.key_columns,"
      " source_not_null = EXCLUDED.source_not_null",
      {schema_, target, source, topic, std::to_string(schema_id), pg::ArrayLiteral(key_columns),
       pg::ArrayLiteral(source_not_null)});
  if (changed) existing = Load(connection, schema_, target);
  tx.Commit();
  Entry& entry = tables_[target];
  if (changed || cached == tables_.end()) entry.verified.clear();
  entry.table = std::move(*existing);
  entry.verified.insert(schema_id);
  return entry.table;
}

}  // namespace cdc::consumer
