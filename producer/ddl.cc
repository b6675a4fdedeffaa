#include "producer/ddl.h"

#include <algorithm>

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

// Key equality of OLD and NEW (SQLite's IS treats NULLs as equal; keys are not null elsewhere).
std::string KeyUnchanged(SqlDialect dialect, const event::TableMeta& table,
                         const std::string& old_prefix, const std::string& new_prefix) {
  std::vector<std::string> terms;
  const std::string op = dialect == SqlDialect::kSqlite ? " IS " : " = ";
  for (size_t k : table.key) {
    const std::string name = Q(dialect, table.columns[k].name);
    terms.push_back(old_prefix + name + op + new_prefix + name);
  }
  return Join(terms, " AND ");
}

std::string TableColumns(SqlDialect dialect, const event::TableMeta& table) {
  std::string sql;
  for (const event::ColumnMeta& column : table.columns) {
    sql += ",\n  " + Q(dialect, column.name) + " " + ChangeColumnType(dialect, column);
  }
  return sql;
}

std::vector<DdlStatement> SqliteTable(const event::TableMeta& table,
                                      const TableName& change_table) {
  const SqlDialect d = SqlDialect::kSqlite;
  return {{"CREATE TABLE IF NOT EXISTS " + change_table.Quoted(d) + " (\n  " + Q(d, kSeqColumn) +
           " INTEGER PRIMARY KEY AUTOINCREMENT,\n  " + Q(d, kOpColumn) + " TEXT NOT NULL CHECK (" +
           Q(d, kOpColumn) + " IN ('I', 'U', 'D')),\n  " + Q(d, kTsColumn) +
           " TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),\n  " +
           Q(d, kTxidColumn) + " TEXT" + TableColumns(d, table) + "\n)"}};
}

std::vector<DdlStatement> SqliteTriggers(const TableName& table_name, const event::TableMeta& table,
                                         const TableName& change_table) {
  const SqlDialect d = SqlDialect::kSqlite;
  // SQLite does not allow qualified names inside trigger bodies or after ON.
  const std::string ct = Q(d, change_table.table);
  const std::string base = Q(d, table_name.table);
  const std::string trigger_schema =
      change_table.schema.empty() ? "" : Q(d, change_table.schema) + ".";
  const std::string columns = Q(d, kOpColumn) + ", " + Join(ColumnRefs(d, table, ""), ", ");
  const std::string unchanged = KeyUnchanged(d, table, "OLD.", "NEW.");
  std::vector<DdlStatement> out;
  for (const char* suffix : {"_INS", "_UPD", "_DEL"}) {
    out.push_back({"DROP TRIGGER IF EXISTS " + trigger_schema + Q(d, change_table.table + suffix)});
  }
  out.push_back({"CREATE TRIGGER " + trigger_schema + Q(d, change_table.table + "_INS") +
                 " AFTER INSERT ON " + base + " FOR EACH ROW BEGIN\n  INSERT INTO " + ct + " (" +
                 columns + ") VALUES ('I', " + Join(ColumnRefs(d, table, "NEW."), ", ") +
                 ");\nEND"});
  out.push_back({"CREATE TRIGGER " + trigger_schema + Q(d, change_table.table + "_UPD") +
                 " AFTER UPDATE ON " + base + " FOR EACH ROW BEGIN\n  INSERT INTO " + ct + " (" +
                 columns + ") SELECT 'D', " + Join(ColumnRefs(d, table, "OLD."), ", ") +
                 " WHERE NOT (" + unchanged + ");\n  INSERT INTO " + ct + " (" + columns +
                 ") SELECT CASE WHEN " + unchanged + " THEN 'U' ELSE 'I' END, " +
                 Join(ColumnRefs(d, table, "NEW."), ", ") + ";\nEND"});
  out.push_back({"CREATE TRIGGER " + trigger_schema + Q(d, change_table.table + "_DEL") +
                 " AFTER DELETE ON " + base + " FOR EACH ROW BEGIN\n  INSERT INTO " + ct + " (" +
                 columns + ") VALUES ('D', " + Join(ColumnRefs(d, table, "OLD."), ", ") +
                 ");\nEND"});
  return out;
}

std::vector<DdlStatement> PostgresTable(const event::TableMeta& table,
                                        const TableName& change_table) {
  const SqlDialect d = SqlDialect::kPostgres;
  return {{"CREATE TABLE IF NOT EXISTS " + change_table.Quoted(d) + " (\n  " + Q(d, kSeqColumn) +
           " bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  " + Q(d, kOpColumn) +
           " char(1) NOT NULL CHECK (" + Q(d, kOpColumn) + " IN ('I', 'U', 'D')),\n  " +
           Q(d, kTsColumn) +
           " timestamp(6) NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),\n  " +
           Q(d, kTxidColumn) + " varchar(64)" + TableColumns(d, table) + "\n)"}};
}

std::vector<DdlStatement> PostgresTriggers(const TableName& table_name,
                                           const event::TableMeta& table,
                                           const TableName& change_table) {
  const SqlDialect d = SqlDialect::kPostgres;
  const std::string ct = change_table.Quoted(d);
  const std::string function = Derived(change_table, "_FN").Quoted(d);
  const std::string columns =
      Q(d, kOpColumn) + ", " + Q(d, kTxidColumn) + ", " + Join(ColumnRefs(d, table, ""), ", ");
  auto insert = [&](const std::string& op, const std::string& image) {
    return "INSERT INTO " + ct + " (" + columns + ") VALUES ('" + op + "', txid_current()::text, " +
           Join(ColumnRefs(d, table, image + "."), ", ") + ");";
  };
  std::vector<DdlStatement> out;
  out.push_back({"CREATE OR REPLACE FUNCTION " + function +
                 "() RETURNS trigger LANGUAGE plpgsql AS $cdc$\nBEGIN\n"
                 "  IF TG_OP = 'INSERT' THEN\n    " +
                 insert("I", "NEW") +
                 "\n  ELSIF TG_OP = 'UPDATE' THEN\n"
                 "    IF " +
                 KeyUnchanged(d, table, "OLD.", "NEW.") + " THEN\n      " + insert("U", "NEW") +
                 "\n    ELSE\n      " + insert("D", "OLD") + "\n      " + insert("I", "NEW") +
                 "\n    END IF;\n  ELSE\n    " + insert("D", "OLD") +
                 "\n  END IF;\n  RETURN NULL;\nEND\n$cdc$"});
  const std::string trigger = Q(d, change_table.table + "_TRG");
  out.push_back({"DROP TRIGGER IF EXISTS " + trigger + " ON " + table_name.Quoted(d)});
  out.push_back({"CREATE TRIGGER " + trigger + " AFTER INSERT OR UPDATE OR DELETE ON " +
                 table_name.Quoted(d) + " FOR EACH ROW EXECUTE FUNCTION " + function + "()"});
  return out;
}

std::vector<DdlStatement> OracleTable(const event::TableMeta& table,
                                      const TableName& change_table) {
  const SqlDialect d = SqlDialect::kOracle;
  const std::string ct = change_table.Quoted(d);
  return {{"CREATE SEQUENCE " + Derived(change_table, "_SEQ").Quoted(d) +
           " START WITH 1 INCREMENT BY 1 CACHE 100 ORDER"},
          {"CREATE TABLE " + ct + " (\n  " + Q(d, kSeqColumn) + " NUMBER(19) NOT NULL,\n  " +
           Q(d, kOpColumn) + " CHAR(1) NOT NULL CHECK (" + Q(d, kOpColumn) +
           " IN ('I', 'U', 'D')),\n  " + Q(d, kTsColumn) +
           " TIMESTAMP(6) DEFAULT SYS_EXTRACT_UTC(SYSTIMESTAMP) NOT NULL,\n  " + Q(d, kTxidColumn) +
           " VARCHAR2(64)" + TableColumns(d, table) + "\n)"},
          {"CREATE UNIQUE INDEX " + Derived(change_table, "_IX").Quoted(d) + " ON " + ct + " (" +
           Q(d, kSeqColumn) + ")"}};
}

std::vector<DdlStatement> OracleTriggers(const TableName& table_name, const event::TableMeta& table,
                                         const TableName& change_table) {
  const SqlDialect d = SqlDialect::kOracle;
  const std::string ct = change_table.Quoted(d);
  const std::string sequence = Derived(change_table, "_SEQ").Quoted(d);
  const std::string columns = Q(d, kSeqColumn) + ", " + Q(d, kOpColumn) + ", " + Q(d, kTsColumn) +
                              ", " + Q(d, kTxidColumn) + ", " +
                              Join(ColumnRefs(d, table, ""), ", ");
  auto insert = [&](const std::string& op, const std::string& image) {
    return "INSERT INTO " + ct + " (" + columns + ")\n      VALUES (" + sequence + ".NEXTVAL, '" +
           op + "', v_ts, v_txid, " + Join(ColumnRefs(d, table, ":" + image + "."), ", ") + ");";
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
                     insert("U", "NEW") + "\n    ELSE\n      " + insert("D", "OLD") + "\n      " +
                     insert("I", "NEW") + "\n    END IF;\n  ELSE\n    " + insert("D", "OLD") +
                     "\n  END IF;\nEND;",
                 true});
  return out;
}

}  // namespace

std::string ChangeColumnType(SqlDialect dialect, const event::ColumnMeta& column) {
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

std::vector<DdlStatement> ChangeTableDdl(
    SqlDialect dialect, const TableName& table_name, const event::TableMeta& table,
    const TableName& change_table,
    const std::optional<std::vector<std::string>>& existing_columns) {
  std::vector<DdlStatement> out;
  if (!existing_columns) {
    switch (dialect) {
      case SqlDialect::kSqlite:
        out = SqliteTable(table, change_table);
        break;
      case SqlDialect::kPostgres:
        out = PostgresTable(table, change_table);
        break;
      case SqlDialect::kOracle:
        out = OracleTable(table, change_table);
        break;
    }
  } else {
    for (const event::ColumnMeta& column : table.columns) {
      const bool present =
          std::any_of(existing_columns->begin(), existing_columns->end(),
                      [&](const std::string& name) { return name == column.name; });
      if (present) continue;
      const std::string name = Q(dialect, column.name);
      const std::string type = ChangeColumnType(dialect, column);
      out.push_back({"ALTER TABLE " + change_table.Quoted(dialect) +
                     (dialect == SqlDialect::kOracle ? " ADD (" + name + " " + type + ")"
                                                     : " ADD COLUMN " + name + " " + type)});
    }
  }
  std::vector<DdlStatement> triggers;
  switch (dialect) {
    case SqlDialect::kSqlite:
      triggers = SqliteTriggers(table_name, table, change_table);
      break;
    case SqlDialect::kPostgres:
      triggers = PostgresTriggers(table_name, table, change_table);
      break;
    case SqlDialect::kOracle:
      triggers = OracleTriggers(table_name, table, change_table);
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
