// Table metadata and the exact type mapping of the change-event contract:
// ODBC SQL type -> event column type -> Avro type, JSON rendering, PostgreSQL type.
// (schemas/README.md documents the same table for downstream teams.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cdc::event {

enum class ColumnType {
  kInt32,        // SMALLINT, INTEGER, TINYINT            -> Avro int
  kInt64,        // BIGINT                                -> Avro long
  kDecimal,      // DECIMAL/NUMERIC(p,s), p <= 38         -> Avro bytes, logicalType decimal(p,s)
  kDecimalText,  // NUMBER without precision, p > 38      -> Avro string holding the exact text
  kFloat32,      // REAL                                  -> Avro float
  kFloat64,      // FLOAT, DOUBLE                         -> Avro double
  kString,       // CHAR, VARCHAR, W*, LONGVARCHAR (CLOB)  -> Avro string
  kBytes,        // BINARY, VARBINARY, LONGVARBINARY      -> Avro bytes
  kDate,         // DATE                                  -> Avro int, logicalType date
  kTimestamp,    // TIMESTAMP (Oracle DATE too)           -> Avro long, local-timestamp-micros
  kTimestampTz,  // TIMESTAMP WITH TIME ZONE              -> Avro long, timestamp-micros (UTC)
  kBoolean,      // BIT, BOOLEAN                          -> Avro boolean
  kUuid,         // GUID                                  -> Avro string, logicalType uuid
  kOther,        // anything else, fetched as text        -> Avro string
};

std::string_view ColumnTypeName(ColumnType type);

struct ColumnMeta {
  std::string name;  // as the source spells it
  ColumnType type = ColumnType::kString;
  int precision = 0;  // kDecimal: total digits (1..38)
  int scale = 0;      // kDecimal: digits after the point (0..precision)
  int length = 0;     // kString: declared length in characters, 0 when unknown/unbounded
  bool nullable = true;
  int source_sql_type = 0;  // the ODBC SQL type code it came from (for warnings and docs)
  // The column's exact type in its own database where the producer can read it (PostgreSQL:
  // format_type of the type, a domain's base type; SQLite: the declared type, possibly empty);
  // nullopt when unknown (an empty SQLite declaration is ""). Not part of the contract.
  std::optional<std::string> db_type;
};

struct TableMeta {
  std::string db;      // source database (catalog) name
  std::string schema;  // source schema (SQLite: main)
  std::string table;   // source table name
  std::vector<ColumnMeta> columns;
  std::vector<size_t> key;  // indexes into `columns`, in primary-key order

  std::string QualifiedName() const { return schema + "." + table; }
  // Index of the column named `name`, or nullopt.
  std::optional<size_t> Find(std::string_view name) const;
};

// The contract's rules for column names, as the replica needs them: each column becomes a
// replica column named by its lower-cased name, which must be distinct from every other
// column's, at most 63 bytes (PostgreSQL's identifier limit: longer names are truncated) and not
// begin with "_cdc_" (the replica's metadata columns and staging columns). Returns one problem per
// column that breaks a rule, naming it and the rule; empty when none does.
inline constexpr size_t kMaxReplicaNameBytes = 63;
std::vector<std::string> ColumnNameProblems(const TableMeta& table);

// Maps an ODBC column description (SQLDescribeCol / SQLColumns) to its event column type.
// `decimal_digits` is the scale for DECIMAL/NUMERIC (negative for Oracle NUMBER(p,-s)); a
// NUMERIC with precision 0 or above 38 becomes kDecimalText. Negative scales become integers of
// precision p - s (exact: NUMBER(5,-2) holds multiples of 100 below 10^7). Unknown types are
// kOther (the caller warns once per column).
ColumnMeta MapOdbcColumn(std::string name, int sql_type, int64_t column_size, int decimal_digits,
                         bool nullable);

// The PostgreSQL column type for a replicated column, e.g. "numeric(12,2)", "varchar(40)",
// "timestamptz".
std::string PostgresType(const ColumnMeta& column);

}  // namespace cdc::event
