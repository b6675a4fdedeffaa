// Target tables in PostgreSQL for replicated source tables: naming, the CREATE statement, and
// the evolution plan when an event's schema differs from the table (add columns, widen types, or
// refuse an incompatible change). Pure: no I/O.
//
// A target table has the source's columns (names lower-cased, types from the contract's type
// table, NOT NULL where the source says so), primary key = the event key, and the metadata
// columns _cdc_seq, _cdc_op, _cdc_source_ts, _cdc_applied_at, _cdc_deleted_at. With
// consumer.change_feed also an index on _cdc_seq (the API's change feed reads it); without, no
// index covers a column that every update changes, so updates are HOT (fillfactor 85 leaves room).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/event/types.h"

namespace cdc::consumer {

// Metadata columns every target row carries.
inline constexpr const char* kSeqColumn = "_cdc_seq";
inline constexpr const char* kOpColumn = "_cdc_op";
inline constexpr const char* kSourceTsColumn = "_cdc_source_ts";
inline constexpr const char* kAppliedAtColumn = "_cdc_applied_at";
inline constexpr const char* kDeletedAtColumn = "_cdc_deleted_at";

struct TargetColumn {
  std::string name;
  std::string type;  // as format_type() spells it, e.g. "character varying(40)"
  bool not_null = false;
  bool operator==(const TargetColumn&) const = default;
};

// A target table as it exists in PostgreSQL (data columns only; metadata columns excluded).
struct TargetTable {
  std::string schema;
  std::string name;
  std::vector<TargetColumn> columns;
  std::vector<std::string> key;  // primary-key column names, in key order
  // Non-key columns that are NOT NULL because the source declares them so (cdc.tables
  // source_not_null): the replica drops such a NOT NULL when the source's schema does. A NOT NULL
  // an operator added stays (events that break it are dead letters).
  std::vector<std::string> source_not_null;

  const TargetColumn* Find(const std::string& column) const;
};

// The target column name of a source column (lower-cased).
std::string TargetColumnName(const std::string& source_column);

// The PostgreSQL type of `column` in format_type() spelling (what the catalog reports back).
std::string CanonicalPgType(const event::ColumnMeta& column);

// The table as CreateTableSql(...) makes it (for comparisons and tests), source_not_null set.
TargetTable TargetFor(const std::string& schema, const std::string& name,
                      const event::TableMeta& meta);

// CREATE TABLE IF NOT EXISTS …, and with `change_feed` the change-feed index on _cdc_seq.
std::vector<std::string> CreateTableSql(const std::string& schema, const std::string& name,
                                        const event::TableMeta& meta, bool change_feed);
// The change-feed index of target `table`: its name (in the schema's namespace, within 63
// bytes) and CREATE INDEX IF NOT EXISTS.
std::string ChangeFeedIndexName(const std::string& table);
std::string ChangeFeedIndexSql(const std::string& schema, const std::string& table);

enum class TypeFit {
  kSame,          // identical
  kFits,          // every value of the event type fits the target type as is
  kWiden,         // the target must be widened to the event type (ALTER … TYPE)
  kIncompatible,  // values would change (kind)
};
TypeFit CompareTypes(const std::string& event_type, const std::string& target_type);
// The type a kWiden target is altered to: the event type, except for two numeric(p,s), where
// it is the numeric with the larger scale and the more integer digits of the two (numeric(5,2)
// and numeric(10,4) give numeric(10,4); numeric(10,2) and numeric(8,4) numeric(12,4)), so that
// neither the rows there nor the event's values round; "" past numeric's 1000 digits.
std::string WidenedType(const std::string& event_type, const std::string& target_type);

struct EvolutionPlan {
  std::vector<std::string> statements;       // ALTER TABLE … (empty when nothing changes)
  std::optional<std::string> incompatible;   // why the event's schema cannot be applied
  std::vector<std::string> source_not_null;  // the table's source_not_null afterwards
};

// What it takes to apply events of `meta` to `existing`: new columns are added (nullable),
// narrower target types widened, and a column of source_not_null that `meta` has nullable (or
// lacks: an older writer's schema) drops NOT NULL. Incompatible: a different primary key, a type
// whose values would change, or a NOT NULL target column the event does not carry that is not
// the source's (an operator's constraint).
EvolutionPlan PlanEvolution(const TargetTable& existing, const event::TableMeta& meta);

}  // namespace cdc::consumer
