#include "consumer/target_schema.h"

#include <algorithm>
#include <cctype>

#include "common/sql_quote.h"

namespace cdc::consumer {
namespace {

std::string Q(std::string_view identifier) {
  return QuoteIdentifier(SqlDialect::kPostgres, identifier);
}

// "numeric(12,2)" -> {"numeric", {12, 2}}; "text" -> {"text", {}}.
struct ParsedType {
  std::string base;
  std::vector<int> args;
};

ParsedType Parse(const std::string& type) {
  ParsedType parsed;
  const size_t open = type.find('(');
  if (open == std::string::npos) {
    parsed.base = type;
    return parsed;
  }
  parsed.base = type.substr(0, open);
  int value = 0;
  bool digits = false;
  for (size_t i = open + 1; i < type.size(); ++i) {
    const char c = type[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      value = value * 10 + (c - '0');
      digits = true;
    } else if (c == ',' || c == ')') {
      if (digits) parsed.args.push_back(value);
      value = 0;
      digits = false;
    }
  }
  return parsed;
}

int Arg(const ParsedType& type, size_t index) {
  return index < type.args.size() ? type.args[index] : 0;
}

bool IsInteger(const std::string& base) { return base == "integer" || base == "bigint"; }

}  // namespace

const TargetColumn* TargetTable::Find(const std::string& column) const {
  for (const TargetColumn& c : columns) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

std::string TargetColumnName(const std::string& source_column) {
  std::string name = source_column;
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::string CanonicalPgType(const event::ColumnMeta& column) {
  const std::string type = event::PostgresType(column);
  if (type.rfind("varchar(", 0) == 0) return "character varying" + type.substr(7);
  if (type == "timestamp") return "timestamp without time zone";
  if (type == "timestamptz") return "timestamp with time zone";
  return type;
}

TargetTable TargetFor(const std::string& schema, const std::string& name,
                      const event::TableMeta& meta) {
  TargetTable table{schema, name, {}, {}, {}};
  for (size_t i = 0; i < meta.columns.size(); ++i) {
    const event::ColumnMeta& column = meta.columns[i];
    const bool is_key = std::find(meta.key.begin(), meta.key.end(), i) != meta.key.end();
    table.columns.push_back(
        {TargetColumnName(column.name), CanonicalPgType(column), is_key || !column.nullable});
    if (!is_key && !column.nullable) table.source_not_null.push_back(table.columns.back().name);
  }
  for (const size_t k : meta.key) table.key.push_back(TargetColumnName(meta.columns[k].name));
  return table;
}

std::string ChangeFeedIndexName(const std::string& table) {
  return table.substr(0, 50) + "__cdc_seq";
}

std::string ChangeFeedIndexSql(const std::string& schema, const std::string& table) {
  return "CREATE INDEX IF NOT EXISTS " + Q(ChangeFeedIndexName(table)) + " ON " + Q(schema) + "." +
         Q(table) + " (" + Q(kSeqColumn) + ")";
}

std::vector<std::string> CreateTableSql(const std::string& schema, const std::string& name,
                                        const event::TableMeta& meta, bool change_feed) {
  const TargetTable table = TargetFor(schema, name, meta);
  const std::string qualified = Q(schema) + "." + Q(name);
  std::string create = "CREATE TABLE IF NOT EXISTS " + qualified + " (\n";
  for (const TargetColumn& column : table.columns) {
    create +=
        "  " + Q(column.name) + " " + column.type + (column.not_null ? " NOT NULL" : "") + ",\n";
  }
  create += "  " + Q(kSeqColumn) + " bigint NOT NULL,\n";
  create += "  " + Q(kOpColumn) + " char(1) NOT NULL,\n";
  create += "  " + Q(kSourceTsColumn) + " timestamptz,\n";
  create += "  " + Q(kAppliedAtColumn) + " timestamptz NOT NULL DEFAULT now(),\n";
  create += "  " + Q(kDeletedAtColumn) + " timestamptz,\n";
  create += "  PRIMARY KEY (";
  for (size_t i = 0; i < table.key.size(); ++i) create += (i ? ", " : "") + Q(table.key[i]);
  create += ")\n)";
  if (change_feed) return {create, ChangeFeedIndexSql(schema, name)};
  // No index covers a column every update changes, so PostgreSQL updates a row in place (HOT)
  // when its page has room: leave 15% of each page for the next versions.
  return {create + " WITH (fillfactor = 85)"};
}

std::string WidenedType(const std::string& event_type, const std::string& target_type) {
  const ParsedType event = Parse(event_type);
  const ParsedType target = Parse(target_type);
  if (event.base != "numeric" || target.base != "numeric" || event.args.empty() ||
      target.args.empty()) {
    return event_type;
  }
  constexpr int kMaxPrecision = 1000;  // PostgreSQL's numeric limit
  const int scale = std::max(Arg(event, 1), Arg(target, 1));
  const int integer = std::max(Arg(event, 0) - Arg(event, 1), Arg(target, 0) - Arg(target, 1));
  if (integer + scale > kMaxPrecision || integer + scale < 1) return "";
  return "numeric(" + std::to_string(integer + scale) + "," + std::to_string(scale) + ")";
}

TypeFit CompareTypes(const std::string& event_type, const std::string& target_type) {
  if (event_type == target_type) return TypeFit::kSame;
  const ParsedType event = Parse(event_type);
  const ParsedType target = Parse(target_type);
  if (event.base == "character varying" || event.base == "text") {
    if (target.base == "text") return TypeFit::kFits;
    if (target.base != "character varying") return TypeFit::kIncompatible;
    if (event.base == "text") return TypeFit::kWiden;
    return Arg(event, 0) <= Arg(target, 0) ? TypeFit::kFits : TypeFit::kWiden;
  }
  if (IsInteger(event.base)) {
    if (target.base == "bigint") return TypeFit::kFits;  // integer into bigint
    if (target.base == "integer") return TypeFit::kWiden;
    if (target.base == "numeric" && target.args.empty()) return TypeFit::kFits;
    return TypeFit::kIncompatible;
  }
  if (event.base == "numeric") {
    if (target.base != "numeric") return TypeFit::kIncompatible;
    if (target.args.empty()) return TypeFit::kFits;
    if (event.args.empty()) return TypeFit::kWiden;
    // Fits when the target has as many integer and fraction digits; otherwise WidenedType
    // holds both, so no value ever rounds.
    const int event_scale = Arg(event, 1);
    const int target_scale = Arg(target, 1);
    const bool fits =
        event_scale <= target_scale && Arg(event, 0) - event_scale <= Arg(target, 0) - target_scale;
    if (fits) return TypeFit::kFits;
    return WidenedType(event_type, target_type).empty() ? TypeFit::kIncompatible : TypeFit::kWiden;
  }
  if (event.base == "real" && target.base == "double precision") return TypeFit::kFits;
  if (event.base == "double precision" && target.base == "real") return TypeFit::kWiden;
  return TypeFit::kIncompatible;
}

namespace {

bool OursNotNull(const TargetTable& table, const std::string& column) {
  return std::find(table.source_not_null.begin(), table.source_not_null.end(), column) !=
         table.source_not_null.end();
}

}  // namespace

EvolutionPlan PlanEvolution(const TargetTable& existing, const event::TableMeta& meta) {
  EvolutionPlan plan;
  const TargetTable wanted = TargetFor(existing.schema, existing.name, meta);
  if (wanted.key != existing.key) {
    std::string have, want;
    for (const std::string& k : existing.key) have += (have.empty() ? "" : ",") + k;
    for (const std::string& k : wanted.key) want += (want.empty() ? "" : ",") + k;
    plan.incompatible = "primary key changed from (" + have + ") to (" + want + ")";
    return plan;
  }
  const std::string qualified = Q(existing.schema) + "." + Q(existing.name);
  for (const TargetColumn& column : wanted.columns) {
    const TargetColumn* current = existing.Find(column.name);
    if (current == nullptr) {
      // Added columns are nullable: rows written before the column existed have no value.
      plan.statements.push_back("ALTER TABLE " + qualified + " ADD COLUMN IF NOT EXISTS " +
                                Q(column.name) + " " + column.type);
      continue;
    }
    // A column the source made nullable (or that held a NULL the schema now allows): the replica
    // drops the NOT NULL the source's schema gave it before such events apply.
    if (current->not_null && !column.not_null && OursNotNull(existing, column.name)) {
      plan.statements.push_back("ALTER TABLE " + qualified + " ALTER COLUMN " + Q(column.name) +
                                " DROP NOT NULL");
    }
    switch (CompareTypes(column.type, current->type)) {
      case TypeFit::kSame:
      case TypeFit::kFits:
        break;
      case TypeFit::kWiden:
        plan.statements.push_back("ALTER TABLE " + qualified + " ALTER COLUMN " + Q(column.name) +
                                  " TYPE " + WidenedType(column.type, current->type));
        break;
      case TypeFit::kIncompatible:
        plan.incompatible =
            "column " + column.name + " changed type from " + current->type + " to " + column.type;
        plan.statements.clear();
        return plan;
    }
  }
  // An older writer's schema without a NOT NULL column (events recorded before the source added
  // it, met again by a replay): its rows have no value there, so the source's NOT NULL goes.
  for (const TargetColumn& column : existing.columns) {
    if (!column.not_null || wanted.Find(column.name) != nullptr) continue;
    if (!OursNotNull(existing, column.name)) {
      plan.incompatible =
          "column " + column.name + " (NOT NULL) is missing from the event's schema";
      plan.statements.clear();
      return plan;
    }
    plan.statements.push_back("ALTER TABLE " + qualified + " ALTER COLUMN " + Q(column.name) +
                              " DROP NOT NULL");
  }
  for (const std::string& name : existing.source_not_null) {
    const TargetColumn* column = wanted.Find(name);
    if (column != nullptr && column->not_null) plan.source_not_null.push_back(name);
  }
  return plan;
}

}  // namespace cdc::consumer
