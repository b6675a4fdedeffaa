#include "producer/ddl.h"

#include <algorithm>
#include <regex>

#include "common/error.h"
#include "producer/capture_limits.h"
#include "producer/catalog.h"
#include "producer/ddl_guard.h"
#include "producer/pg_types.h"

namespace cdc::producer {
namespace {

using event::ColumnType;

std::string Q(SqlDialect dialect, std::string_view name) { return QuoteIdentifier(dialect, name); }

// A name derived from the change table's ("ORDERS_CT" + "_SEQ"), in its schema.
TableName Derived(const TableName& change_table, const std::string& suffix) {
  return TableName{change_table.schema, change_table.table + suffix};
}

std::string Join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? separator : "") + parts[i];
  return out;
}

// "<prefix>"COL1", <prefix>"COL2", ..." for every column of `table`.
std::vector<std::string> ColumnRefs(SqlDialect dialect, const event::TableMeta& table,
                                    const std::string& prefix) {
  std::vector<std::string> refs;
  for (const event::ColumnMeta& column : table.columns) {
    refs.push_back(prefix + Q(dialect, column.name));
  }
  return refs;
}

// The change table's old-image columns of `table` ("_cdc_old_COL1", ...).
std::vector<std::string> OldImageRefs(SqlDialect dialect, const event::TableMeta& table) {
  std::vector<std::string> refs;
  for (const event::ColumnMeta& column : table.columns) {
    refs.push_back(Q(dialect, OldImageColumn(dialect, column.name)));
  }
  return refs;
}

// The change-table columns a row fills and the values it fills them with: the op, `extra`
// leading columns (PostgreSQL's txid, Oracle's seq/ts/txid), the columns of `image` (NEW or OLD,
// with the dialect's prefix) and, for an update with before_image, the old image.
struct ChangeInsert {
  std::string columns;
  std::string values;
};
ChangeInsert ChangeRow(SqlDialect dialect, const event::TableMeta& table,
                       const std::string& leading_columns, const std::string& leading_values,
                       const std::string& image_prefix, const std::string& old_prefix) {
  ChangeInsert row{leading_columns + Join(ColumnRefs(dialect, table, ""), ", "),
                   leading_values + Join(ColumnRefs(dialect, table, image_prefix), ", ")};
  if (!old_prefix.empty()) {
    row.columns += ", " + Join(OldImageRefs(dialect, table), ", ");
    row.values += ", " + Join(ColumnRefs(dialect, table, old_prefix), ", ");
  }
  return row;
}

// True when OLD's key is NEW's key value for value - not merely equal under the column's
// collation or type (citext 'Ab' = 'AB', a NOCASE column, numeric 1.5 = 1.50): a key the
// replica would see as another one is recorded as a delete and an insert. NULLs (possible in
// configured keys) count as equal.
std::string KeyUnchanged(SqlDialect dialect, const event::TableMeta& table,
                         const std::string& old_prefix, const std::string& new_prefix) {
  std::vector<std::string> terms;
  for (size_t k : table.key) {
    const std::string name = Q(dialect, table.columns[k].name);
    switch (dialect) {
      case SqlDialect::kSqlite:
        // IS compares 1 and 1.0 as equal: the storage class must match too.
        terms.push_back("typeof(" + old_prefix + name + ") = typeof(" + new_prefix + name +
                        ") AND " + old_prefix + name + " IS " + new_prefix + name +
                        " COLLATE BINARY");
        break;
      case SqlDialect::kPostgres: {
        const event::ColumnType type = table.columns[k].type;
        if (type == event::ColumnType::kInt32 || type == event::ColumnType::kInt64) {
          terms.push_back(old_prefix + name + " IS NOT DISTINCT FROM " + new_prefix + name);
        } else {
          // COLLATE "C": a text column's cast keeps its (maybe nondeterministic) collation.
          terms.push_back("CAST(" + old_prefix + name +
                          " AS text) COLLATE \"C\" IS NOT DISTINCT FROM CAST(" + new_prefix + name +
                          " AS text) COLLATE \"C\"");
        }
        break;
      }
      case SqlDialect::kOracle:
        terms.push_back(old_prefix + name + " = " + new_prefix + name);
        break;
    }
  }
  return Join(terms, " AND ");
}

std::string TableColumns(SqlDialect dialect, const event::TableMeta& table,
                         const CaptureOptions& options) {
  std::string sql;
  for (const event::ColumnMeta& column : ChangeDataColumns(dialect, table, options)) {
    const std::string type = ChangeColumnType(dialect, column);
    sql += ",\n  " + Q(dialect, column.name) + (type.empty() ? "" : " " + type);
  }
  return sql;
}

std::vector<DdlStatement> SqliteTable(const event::TableMeta& table, const TableName& change_table,
                                      const CaptureOptions& options) {
  const SqlDialect d = SqlDialect::kSqlite;
  return {{"CREATE TABLE IF NOT EXISTS " + change_table.Quoted(d) + " (\n  " + Q(d, kSeqColumn) +
           " INTEGER PRIMARY KEY AUTOINCREMENT,\n  " + Q(d, kOpColumn) + " TEXT NOT NULL CHECK (" +
           Q(d, kOpColumn) + " IN ('I', 'U', 'D')),\n  " + Q(d, kTsColumn) +
           " TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),\n  " +
           Q(d, kTxidColumn) + " TEXT" + TableColumns(d, table, options) + "\n)"}};
}

std::vector<DdlStatement> SqliteTriggers(const TableName& table_name, const event::TableMeta& table,
                                         const TableName& change_table,
                                         const CaptureOptions& options) {
  const SqlDialect d = SqlDialect::kSqlite;
  // SQLite does not allow qualified names inside trigger bodies or after ON.
  const std::string ct = Q(d, change_table.table);
  const std::string base = Q(d, table_name.table);
  const std::string trigger_schema =
      change_table.schema.empty() ? "" : Q(d, change_table.schema) + ".";
  const std::string unchanged = KeyUnchanged(d, table, "OLD.", "NEW.");
  auto insert = [&](const std::string& op, const std::string& image, bool with_old = false) {
    const ChangeInsert row = ChangeRow(d, table, Q(d, kOpColumn) + ", ", "'" + op + "', ",
                                       image + ".", with_old ? "OLD." : "");
    return "INSERT INTO " + ct + " (" + row.columns + ") VALUES (" + row.values + ");";
  };
  std::vector<DdlStatement> out = DropCaptureTriggers(d, table_name, change_table);
  out.push_back({"CREATE TRIGGER " + trigger_schema + Q(d, change_table.table + "_INS") +
                 " AFTER INSERT ON " + base + " FOR EACH ROW BEGIN\n  " + insert("I", "NEW") +
                 "\nEND"});
  // An update that keeps the key is one insert; one that changes it (rare) a delete and an insert.
  // The WHEN clauses pick the trigger, so an update runs one statement, not two.
  out.push_back({"CREATE TRIGGER " + trigger_schema + Q(d, change_table.table + "_UPD") +
                 " AFTER UPDATE ON " + base + " FOR EACH ROW WHEN " + unchanged + " BEGIN\n  " +
                 insert("U", "NEW", options.before_image) + "\nEND"});
  out.push_back({"CREATE TRIGGER " + trigger_schema + Q(d, change_table.table + "_KEY") +
                 " AFTER UPDATE ON " + base + " FOR EACH ROW WHEN NOT (" + unchanged +
                 ") BEGIN\n  " + insert("D", "OLD") + "\n  " + insert("I", "NEW") + "\nEND"});
  out.push_back({"CREATE TRIGGER " + trigger_schema + Q(d, change_table.table + "_DEL") +
                 " AFTER DELETE ON " + base + " FOR EACH ROW BEGIN\n  " + insert("D", "OLD") +
                 "\nEND"});
  return out;
}

std::vector<DdlStatement> PostgresTable(const event::TableMeta& table,
                                        const TableName& change_table,
                                        const CaptureOptions& options) {
  const SqlDialect d = SqlDialect::kPostgres;
  return {{"CREATE TABLE IF NOT EXISTS " + change_table.Quoted(d) + " (\n  " + Q(d, kSeqColumn) +
           " bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  " + Q(d, kOpColumn) +
           " char(1) NOT NULL CHECK (" + Q(d, kOpColumn) + " IN ('I', 'U', 'D')),\n  " +
           Q(d, kTsColumn) +
           " timestamp(6) NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),\n  " +
           Q(d, kTxidColumn) + " varchar(64)" + TableColumns(d, table, options) + "\n)"}};
}

std::vector<DdlStatement> PostgresTriggers(const TableName& table_name,
                                           const event::TableMeta& table,
                                           const TableName& change_table,
                                           const CaptureOptions& options) {
  const SqlDialect d = SqlDialect::kPostgres;
  const std::string ct = change_table.Quoted(d);
  const std::string function = Derived(change_table, "_FN").Quoted(d);
  auto insert = [&](const std::string& op, const std::string& image, bool with_old = false) {
    const ChangeInsert row =
        ChangeRow(d, table, Q(d, kOpColumn) + ", " + Q(d, kTxidColumn) + ", ",
                  "'" + op + "', txid_current()::text, ", image + ".", with_old ? "OLD." : "");
    return "INSERT INTO " + ct + " (" + row.columns + ") VALUES (" + row.values + ");";
  };
  std::vector<DdlStatement> out;
  // The function runs with its owner's rights, so an application role that may write the table
  // needs no grant on the change table; its search_path is fixed (every name in it is qualified
  // or pg_catalog's), so a caller cannot redirect it.
  const std::string definer =
      change_table.schema.empty() ? "" : " SECURITY DEFINER SET search_path = pg_catalog, pg_temp";
  out.push_back(
      {"CREATE OR REPLACE FUNCTION " + function + "() RETURNS trigger LANGUAGE plpgsql" + definer +
       " AS $cdc$\nBEGIN\n"
       "  IF TG_OP = 'INSERT' THEN\n    " +
       insert("I", "NEW") +
       "\n  ELSIF TG_OP = 'UPDATE' THEN\n"
       "    IF " +
       KeyUnchanged(d, table, "OLD.", "NEW.") + " THEN\n      " +
       insert("U", "NEW", options.before_image) + "\n    ELSE\n      " + insert("D", "OLD") +
       "\n      " + insert("I", "NEW") + "\n    END IF;\n  ELSE\n    " + insert("D", "OLD") +
       "\n  END IF;\n  RETURN NULL;\nEND\n$cdc$"});
  // Only its owner may attach it to a table: run by anyone's trigger it would write the change
  // table - and convert their values, with their casts - with its owner's rights. Firing it
  // needs no EXECUTE right, so the application's writes are not affected.
  out.push_back({"REVOKE ALL ON FUNCTION " + function + "() FROM PUBLIC"});
  const std::string trigger = Q(d, change_table.table + "_TRG");
  const std::vector<DdlStatement> drop = DropCaptureTriggers(d, table_name, change_table);
  out.insert(out.end(), drop.begin(), drop.end());
  out.push_back({"CREATE TRIGGER " + trigger + " AFTER INSERT OR UPDATE OR DELETE ON " +
                 table_name.Quoted(d) + " FOR EACH ROW EXECUTE FUNCTION " + function + "('" +
                 std::string(kCaptureTriggerArgument) + "')"});
  return out;
}

std::vector<DdlStatement> OracleTable(const event::TableMeta& table, const TableName& change_table,
                                      const CaptureOptions& options) {
  const SqlDialect d = SqlDialect::kOracle;
  const std::string ct = change_table.Quoted(d);
  return {{"CREATE SEQUENCE " + Derived(change_table, "_SEQ").Quoted(d) +
           " START WITH 1 INCREMENT BY 1 CACHE 100 ORDER"},
          {"CREATE TABLE " + ct + " (\n  " + Q(d, kSeqColumn) + " NUMBER(19) NOT NULL,\n  " +
           Q(d, kOpColumn) + " CHAR(1) NOT NULL CHECK (" + Q(d, kOpColumn) +
           " IN ('I', 'U', 'D')),\n  " + Q(d, kTsColumn) +
           " TIMESTAMP(6) DEFAULT SYS_EXTRACT_UTC(SYSTIMESTAMP) NOT NULL,\n  " + Q(d, kTxidColumn) +
           " VARCHAR2(64)" + TableColumns(d, table, options) + "\n)"},
          {"CREATE UNIQUE INDEX " + Derived(change_table, "_IX").Quoted(d) + " ON " + ct + " (" +
           Q(d, kSeqColumn) + ")"}};
}

std::vector<DdlStatement> OracleTriggers(const TableName& table_name, const event::TableMeta& table,
                                         const TableName& change_table,
                                         const CaptureOptions& options) {
  const SqlDialect d = SqlDialect::kOracle;
  const std::string ct = change_table.Quoted(d);
  const std::string sequence = Derived(change_table, "_SEQ").Quoted(d);
  auto insert = [&](const std::string& op, const std::string& image, bool with_old = false) {
    const ChangeInsert row = ChangeRow(d, table,
                                       Q(d, kSeqColumn) + ", " + Q(d, kOpColumn) + ", " +
                                           Q(d, kTsColumn) + ", " + Q(d, kTxidColumn) + ", ",
                                       sequence + ".NEXTVAL, '" + op + "', v_ts, v_txid, ",
                                       ":" + image + ".", with_old ? ":OLD." : "");
    return "INSERT INTO " + ct + " (" + row.columns + ")\n      VALUES (" + row.values + ");";
  };
  std::vector<DdlStatement> out;
  out.push_back({"CREATE OR REPLACE TRIGGER " + Derived(change_table, "_TRG").Quoted(d) +
                     "\nAFTER INSERT OR UPDATE OR DELETE ON " + table_name.Quoted(d) +
                     "\nFOR EACH ROW\nDECLARE\n"
                     "  v_ts TIMESTAMP(6) := SYS_EXTRACT_UTC(SYSTIMESTAMP);\n"
                     "  v_txid VARCHAR2(64) := DBMS_TRANSACTION.LOCAL_TRANSACTION_ID;\n"
                     "BEGIN\n  IF INSERTING THEN\n    " +
                     insert("I", "NEW") + "\n  ELSIF UPDATING THEN\n    IF " +
                     KeyUnchanged(d, table, ":OLD.", ":NEW.") + " THEN\n      " +
                     insert("U", "NEW", options.before_image) + "\n    ELSE\n      " +
                     insert("D", "OLD") + "\n      " + insert("I", "NEW") +
                     "\n    END IF;\n  ELSE\n    " + insert("D", "OLD") + "\n  END IF;\nEND;",
                 true});
  return out;
}

}  // namespace

std::string ChangeColumnType(SqlDialect dialect, const event::ColumnMeta& column) {
  if (column.db_type && dialect == SqlDialect::kPostgres) return PgChangeColumnType(column);
  if (column.db_type && dialect == SqlDialect::kSqlite) {
    // The declared type itself (the same affinity converts a value the same way, so the change
    // table holds what the table holds); one that is not plain words and numbers, its affinity.
    static const std::regex kPlain(
        R"(^[A-Za-z_][A-Za-z0-9_]*( +[A-Za-z_][A-Za-z0-9_]*)*( *\( *[+-]?[0-9]+ *(, *[+-]?[0-9]+ *)?\))?$)");
    static const std::regex kConstraintWord(
        R"((^| )(CONSTRAINT|PRIMARY|NOT|NULL|UNIQUE|CHECK|DEFAULT|COLLATE|REFERENCES|GENERATED|AS)( |\(|$))",
        std::regex::icase);
    const std::string& declared = *column.db_type;
    if (declared.empty()) return declared;  // no type: BLOB affinity, as the table's column
    const bool plain =
        std::regex_match(declared, kPlain) && !std::regex_search(declared, kConstraintWord);
    return plain ? declared : SqliteAffinity(declared);
  }
  const bool oracle = dialect == SqlDialect::kOracle;
  const bool postgres = dialect == SqlDialect::kPostgres;
  switch (column.type) {
    case ColumnType::kInt32:
      return oracle ? "NUMBER(10)" : "INTEGER";
    case ColumnType::kInt64:
      return oracle ? "NUMBER(19)" : "BIGINT";
    case ColumnType::kDecimal: {
      const std::string ps =
          "(" + std::to_string(column.precision) + "," + std::to_string(column.scale) + ")";
      return (oracle ? "NUMBER" : postgres ? "numeric" : "DECIMAL") + ps;
    }
    case ColumnType::kDecimalText:
      return oracle ? "NUMBER" : postgres ? "numeric" : "TEXT";
    case ColumnType::kFloat32:
      return oracle ? "BINARY_FLOAT" : "REAL";
    case ColumnType::kFloat64:
      return oracle ? "BINARY_DOUBLE" : postgres ? "double precision" : "DOUBLE";
    case ColumnType::kString:
      if (column.length > 0 && (!oracle || column.length <= 4000)) {
        return (oracle ? "VARCHAR2(" : "VARCHAR(") + std::to_string(column.length) +
               (oracle ? " CHAR)" : ")");
      }
      return oracle ? "CLOB" : "TEXT";
    case ColumnType::kBytes:
      return postgres ? "bytea" : "BLOB";
    case ColumnType::kDate:
      return oracle ? "DATE" : "DATE";
    case ColumnType::kTimestamp:
      return oracle || postgres ? "TIMESTAMP(6)" : "TIMESTAMP";
    case ColumnType::kTimestampTz:
      return oracle ? "TIMESTAMP(6) WITH TIME ZONE" : postgres ? "timestamptz" : "TIMESTAMPTZ";
    case ColumnType::kBoolean:
      return oracle ? "NUMBER(1)" : "BOOLEAN";
    case ColumnType::kUuid:
      return oracle ? "VARCHAR2(36)" : postgres ? "uuid" : "TEXT";
    case ColumnType::kOther:
      return oracle ? "CLOB" : "TEXT";
  }
  return "TEXT";
}

std::vector<DdlStatement> DropCaptureTriggers(SqlDialect dialect, const TableName& table_name,
                                              const TableName& change_table) {
  std::vector<DdlStatement> out;
  switch (dialect) {
    case SqlDialect::kSqlite: {
      // SQLite keeps triggers in the schema of their table's database, unqualified after ON.
      const std::string schema =
          change_table.schema.empty() ? "" : Q(dialect, change_table.schema) + ".";
      for (const char* suffix : {"_INS", "_UPD", "_KEY", "_DEL"}) {
        out.push_back(
            {"DROP TRIGGER IF EXISTS " + schema + Q(dialect, change_table.table + suffix)});
      }
      break;
    }
    case SqlDialect::kPostgres:
      out.push_back({"DROP TRIGGER IF EXISTS " + Q(dialect, change_table.table + "_TRG") + " ON " +
                     table_name.Quoted(dialect)});
      break;
    case SqlDialect::kOracle:  // no IF EXISTS before 23ai; ddl never drops Oracle's (REPLACE)
      out.push_back({"DROP TRIGGER " + Derived(change_table, "_TRG").Quoted(dialect)});
      break;
  }
  return out;
}

std::vector<event::ColumnMeta> ChangeDataColumns(SqlDialect dialect, const event::TableMeta& table,
                                                 const CaptureOptions& options) {
  std::vector<event::ColumnMeta> columns = table.columns;
  if (!options.before_image) return columns;
  for (event::ColumnMeta column : table.columns) {
    column.name = OldImageColumn(dialect, column.name);
    columns.push_back(std::move(column));
  }
  return columns;
}

std::vector<DdlStatement> ChangeTableDdl(
    SqlDialect dialect, const TableName& table_name, const event::TableMeta& table,
    const TableName& change_table,
    const std::optional<std::vector<event::ColumnMeta>>& existing_columns,
    const CaptureOptions& options) {
  const std::vector<std::string> problems = CaptureProblems(dialect, table, change_table, options);
  if (!problems.empty()) {
    std::string message = "cannot capture " + table_name.ToString() + ": ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    throw PermanentError("NAME", message);
  }
  std::vector<DdlStatement> out;
  if (!existing_columns) {
    switch (dialect) {
      case SqlDialect::kSqlite:
        out = SqliteTable(table, change_table, options);
        break;
      case SqlDialect::kPostgres:
        out = PostgresTable(table, change_table, options);
        break;
      case SqlDialect::kOracle:
        out = OracleTable(table, change_table, options);
        break;
    }
  } else {
    const std::string ct = change_table.Quoted(dialect);
    for (const event::ColumnMeta& column : ChangeDataColumns(dialect, table, options)) {
      const auto present =
          std::find_if(existing_columns->begin(), existing_columns->end(),
                       [&](const event::ColumnMeta& old) { return old.name == column.name; });
      const std::string name = Q(dialect, column.name);
      const std::string type = ChangeColumnType(dialect, column);
      if (present == existing_columns->end()) {
        out.push_back({"ALTER TABLE " + ct +
                       (dialect == SqlDialect::kOracle ? " ADD (" + name + " " + type + ")"
                                                       : " ADD COLUMN " + name + " " + type)});
        continue;
      }
      // A retyped (widened) column: the change table follows, or the trigger would refuse the
      // table's new values. SQLite enforces no declared type and cannot alter one.
      if (dialect == SqlDialect::kSqlite || ChangeColumnType(dialect, *present) == type) continue;
      out.push_back(
          {"ALTER TABLE " + ct +
               (dialect == SqlDialect::kOracle ? " MODIFY (" + name + " " + type + ")"
                                               : " ALTER COLUMN " + name + " TYPE " + type +
                                                     " USING CAST(" + name + " AS " + type + ")"),
           false,
           "the change table's column " + column.name + " holds values of type " +
               ChangeColumnType(dialect, *present) + " that " + type +
               " cannot take (a column dropped and added again with another type?): drop it "
               "with one ddl --apply --alter, let the producer publish and purge the change "
               "table's rows, then add it with another - or give the new column another name"});
    }
  }
  std::vector<DdlStatement> triggers;
  switch (dialect) {
    case SqlDialect::kSqlite:
      triggers = SqliteTriggers(table_name, table, change_table, options);
      break;
    case SqlDialect::kPostgres:
      triggers = PostgresTriggers(table_name, table, change_table, options);
      break;
    case SqlDialect::kOracle:
      triggers = OracleTriggers(table_name, table, change_table, options);
      break;
  }
  out.insert(out.end(), triggers.begin(), triggers.end());
  return out;
}

std::string DdlScript(SqlDialect dialect, const TableName& table_name,
                      const std::vector<DdlStatement>& statements) {
  std::string script = "-- Change table for " + table_name.ToString() + " (" +
                       std::string(SqlDialectName(dialect)) + "), generated by cdc-producer ddl\n";
  for (const DdlStatement& statement : statements) {
    script += statement.sql + (statement.block ? "\n/\n\n" : ";\n\n");
  }
  return script;
}

}  // namespace cdc::producer
