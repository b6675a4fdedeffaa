#include "producer/capture_limits.h"

#include "common/sql_quote.h"

namespace cdc::producer {
namespace {

// How a PostgreSQL value of type `db_type` (format_type's spelling) sits in a row at worst:
// bytes and alignment. A fixed-width type takes its width; any other (varlena) value at most
// 24 bytes once TOAST has moved it out of the row (it moves out values over that).
struct RowSlot {
  int bytes;
  int align;
};
RowSlot PgRowSlot(std::string_view db_type) {
  constexpr RowSlot kVarlena{24, 1};
  if (db_type.ends_with("]")) return kVarlena;  // arrays
  static const std::vector<std::pair<std::string_view, RowSlot>> kFixed = {
      {"smallint", {2, 2}},
      {"integer", {4, 4}},
      {"bigint", {8, 8}},
      {"real", {4, 4}},
      {"double precision", {8, 8}},
      {"boolean", {1, 1}},
      {"date", {4, 4}},
      {"uuid", {16, 1}},
      {"oid", {4, 4}},
      {"\"char\"", {1, 1}},
      {"macaddr", {6, 4}},
      {"macaddr8", {8, 4}},
      {"point", {16, 8}},
      {"box", {32, 8}},
      {"lseg", {32, 8}},
      {"line", {24, 8}},
      {"circle", {24, 8}},
      {"name", {64, 1}},
      {"pg_lsn", {8, 8}},
      {"tid", {6, 2}},
      {"xid", {4, 4}},
      {"cid", {4, 4}}};
  for (const auto& [name, slot] : kFixed) {
    if (db_type == name) return slot;
  }
  if (db_type.starts_with("timestamp")) return {8, 8};
  if (db_type.starts_with("time") && db_type.ends_with("with time zone")) return {12, 8};
  if (db_type.starts_with("time")) return {8, 8};
  if (db_type.starts_with("interval")) return {16, 8};
  return kVarlena;
}

// PostgreSQL refuses a row over 8160 bytes (MaxHeapTupleSize): a change table whose rows can
// be larger than that - its metadata, every column (twice with before_image) at its widest -
// could refuse a write its table accepts. The width is known for the source's own columns only
// (db_type); DDL for another database is not checked.
std::optional<std::string> PgRowSizeProblem(const event::TableMeta& table,
                                            const CaptureOptions& options) {
  constexpr int kMaxTuple = 8160;
  std::vector<RowSlot> slots = {{8, 8}, {2, 1}, {8, 8}, {24, 1}};  // seq, op, ts, txid
  for (int image = 0; image < (options.before_image ? 2 : 1); ++image) {
    for (const event::ColumnMeta& column : table.columns) {
      if (!column.db_type) return std::nullopt;
      slots.push_back(PgRowSlot(*column.db_type == "money" ? "numeric" : *column.db_type));
    }
  }
  const int header = (23 + static_cast<int>(slots.size() + 7) / 8 + 7) / 8 * 8;
  int bytes = header;
  for (const RowSlot& slot : slots)
    bytes = (bytes + slot.align - 1) / slot.align * slot.align + slot.bytes;
  if (bytes <= kMaxTuple) return std::nullopt;
  return table.QualifiedName() + ": a row of its change table can take " + std::to_string(bytes) +
         " bytes (its " + std::to_string(table.columns.size()) + " columns" +
         (options.before_image ? " twice, with before_image" : "") +
         ", each at its widest), over PostgreSQL's row limit of 8160: the trigger could refuse "
         "writes the table accepts" +
         (options.before_image ? " (turn before_image off)" : "");
}

// The names a change table and its triggers need that the dialect cannot hold or would mix up:
// a column named like a metadata column, object names over the identifier limit (PostgreSQL
// truncates past 63 bytes; Oracle 12.2+ refuses past 128). The contract's own rules come from
// ColumnNameProblems.
std::vector<std::string> NameProblems(SqlDialect dialect, const event::TableMeta& table,
                                      const TableName& change_table,
                                      const CaptureOptions& options) {
  std::vector<std::string> problems = event::ColumnNameProblems(table);
  for (const event::ColumnMeta& column : table.columns) {
    for (const std::string_view metadata : {kSeqColumn, kOpColumn, kTsColumn, kTxidColumn}) {
      const bool same = dialect == SqlDialect::kSqlite ? EqualsIgnoreCase(column.name, metadata)
                                                       : column.name == metadata;
      if (same) {
        problems.push_back("column \"" + column.name + "\" of " + table.QualifiedName() +
                           ": the change table's metadata column has that name");
      }
    }
  }
  // The change table adds the metadata columns: over the dialect's column limit it cannot exist.
  const size_t max_columns = dialect == SqlDialect::kPostgres ? 1600
                             : dialect == SqlDialect::kOracle ? 1000
                                                              : 2000;  // SQLITE_MAX_COLUMN
  const size_t change_columns =
      table.columns.size() * (options.before_image ? 2 : 1) + kMetadataColumns;
  if (change_columns > max_columns) {
    problems.push_back(table.QualifiedName() + " has " + std::to_string(table.columns.size()) +
                       " columns: its change table would have " + std::to_string(change_columns) +
                       (options.before_image ? " (before_image doubles them)" : "") + ", over " +
                       std::string(SqlDialectName(dialect)) + "'s limit of " +
                       std::to_string(max_columns));
  }
  const size_t limit = IdentifierLimit(dialect);
  if (limit == 0) return problems;
  const std::vector<std::string> suffixes =
      dialect == SqlDialect::kPostgres ? std::vector<std::string>{"", "_FN", "_TRG"}
                                       : std::vector<std::string>{"", "_SEQ", "_IX", "_TRG"};
  for (const std::string& suffix : suffixes) {
    const std::string name = change_table.table + suffix;
    if (name.size() > limit) {
      problems.push_back("\"" + name + "\" (for change table " + change_table.ToString() +
                         "): " + std::to_string(name.size()) + " bytes, over " +
                         std::string(SqlDialectName(dialect)) + "'s limit of " +
                         std::to_string(limit) + "; name a shorter change_table");
    }
  }
  return problems;
}

}  // namespace

std::vector<std::string> CaptureProblems(SqlDialect dialect, const event::TableMeta& table,
                                         const TableName& change_table,
                                         const CaptureOptions& options) {
  std::vector<std::string> problems = NameProblems(dialect, table, change_table, options);
  if (dialect == SqlDialect::kPostgres) {
    if (std::optional<std::string> row = PgRowSizeProblem(table, options)) problems.push_back(*row);
  }
  return problems;
}

}  // namespace cdc::producer
