#include "common/avro/schema.h"

#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"

namespace cdc::avro {
namespace {

using Json = nlohmann::ordered_json;
using event::ColumnMeta;
using event::ColumnType;
using event::TableMeta;

bool IsNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

Json ColumnAvroType(const ColumnMeta& column) {
  switch (column.type) {
    case ColumnType::kInt32:
      return "int";
    case ColumnType::kInt64:
      return "long";
    case ColumnType::kDecimal:
      return Json{{"type", "bytes"},
                  {"logicalType", "decimal"},
                  {"precision", column.precision},
                  {"scale", column.scale}};
    case ColumnType::kDecimalText:
      return Json{{"type", "string"}, {"cdc.type", "decimal"}};
    case ColumnType::kFloat32:
      return "float";
    case ColumnType::kFloat64:
      return "double";
    case ColumnType::kString:
      return "string";
    case ColumnType::kBytes:
      return "bytes";
    case ColumnType::kDate:
      return Json{{"type", "int"}, {"logicalType", "date"}};
    case ColumnType::kTimestamp:
      return Json{{"type", "long"}, {"logicalType", "local-timestamp-micros"}};
    case ColumnType::kTimestampTz:
      return Json{{"type", "long"}, {"logicalType", "timestamp-micros"}};
    case ColumnType::kBoolean:
      return "boolean";
    case ColumnType::kUuid:
      return Json{{"type", "string"}, {"logicalType", "uuid"}};
    case ColumnType::kOther:
      return Json{{"type", "string"}, {"cdc.type", "other"}};
  }
  return "string";
}

Json Field(const ColumnMeta& column, const std::string& avro_name) {
  Json field;
  field["name"] = avro_name;
  if (column.nullable) {
    field["type"] = Json::array({"null", ColumnAvroType(column)});
    field["default"] = nullptr;
  } else {
    field["type"] = ColumnAvroType(column);
  }
  field["cdc.column"] = column.name;
  if (column.type == ColumnType::kString && column.length > 0) field["cdc.length"] = column.length;
  return field;
}

Json RowRecord(const std::string& name, const TableMeta& table,
               const std::vector<size_t>& columns) {
  std::vector<std::string> source_names;
  for (size_t index : columns) source_names.push_back(table.columns[index].name);
  const std::vector<std::string> avro_names = SanitizeNames(source_names);
  Json fields = Json::array();
  for (size_t i = 0; i < columns.size(); ++i) {
    fields.push_back(Field(table.columns[columns[i]], avro_names[i]));
  }
  Json record;
  record["type"] = "record";
  record["name"] = name;
  record["fields"] = std::move(fields);
  return record;
}

Json SourceRecord() {
  return Json{
      {"type", "record"},
      {"name", "Source"},
      {"namespace", "cdc"},
      {"fields",
       Json::array({
           Json{{"name", "name"}, {"type", "string"}},
           Json{{"name", "db"}, {"type", "string"}},
           Json{{"name", "schema"}, {"type", "string"}},
           Json{{"name", "table"}, {"type", "string"}},
           Json{{"name", "seq"}, {"type", "long"}},
           Json{{"name", "change_ts"},
                {"type", Json{{"type", "long"}, {"logicalType", "timestamp-micros"}}}},
           Json{{"name", "txid"}, {"type", Json::array({"null", "string"})}, {"default", nullptr}},
           Json{{"name", "snapshot"}, {"type", "boolean"}, {"default", false}},
       })}};
}

[[noreturn]] void Fail(const std::string& why) {
  throw PermanentError("SCHEMA", "not a cdc value schema: " + why);
}

// Checked member access for untrusted schema JSON (nlohmann's value() throws type_error).
std::string StringMember(const nlohmann::json& object, const char* key, std::string fallback) {
  if (!object.is_object()) return fallback;
  const auto found = object.find(key);
  if (found == object.end()) return fallback;
  if (!found->is_string()) Fail(std::string("\"") + key + "\" must be a string");
  return found->get<std::string>();
}

int IntMember(const nlohmann::json& object, const char* key, int fallback) {
  if (!object.is_object()) return fallback;
  const auto found = object.find(key);
  if (found == object.end()) return fallback;
  if (!found->is_number_integer() || found->get<int64_t>() < 0 ||
      found->get<int64_t>() > 1'000'000'000) {
    Fail(std::string("\"") + key + "\" must be a small non-negative integer");
  }
  return static_cast<int>(found->get<int64_t>());
}

ColumnMeta ColumnFromField(const nlohmann::json& field) {
  if (!field.is_object() || !field.contains("name") || !field.contains("type")) {
    Fail("field without name or type");
  }
  ColumnMeta column;
  column.name = StringMember(field, "cdc.column", StringMember(field, "name", ""));
  nlohmann::json type = field["type"];
  column.nullable = false;
  if (type.is_array()) {
    if (type.size() != 2 || type[0] != "null") Fail("union other than [\"null\", T]");
    column.nullable = true;
    type = type[1];
  }
  const std::string base = type.is_string() ? type.get<std::string>()
                           : type.is_object() && type.contains("type") && type["type"].is_string()
                               ? type["type"].get<std::string>()
                               : "";
  const std::string logical = StringMember(type, "logicalType", "");
  const std::string cdc_type = StringMember(type, "cdc.type", "");
  if (base == "int") {
    column.type = logical == "date" ? ColumnType::kDate : ColumnType::kInt32;
  } else if (base == "long") {
    column.type = logical == "timestamp-micros"         ? ColumnType::kTimestampTz
                  : logical == "local-timestamp-micros" ? ColumnType::kTimestamp
                                                        : ColumnType::kInt64;
  } else if (base == "bytes" && logical == "decimal") {
    column.type = ColumnType::kDecimal;
    column.precision = IntMember(type, "precision", 0);
    column.scale = IntMember(type, "scale", 0);
    if (column.precision < 1 || column.precision > 38 || column.scale < 0 ||
        column.scale > column.precision) {
      Fail("decimal with precision " + std::to_string(column.precision) + " and scale " +
           std::to_string(column.scale));
    }
  } else if (base == "bytes") {
    column.type = ColumnType::kBytes;
  } else if (base == "string") {
    column.type = logical == "uuid"       ? ColumnType::kUuid
                  : cdc_type == "decimal" ? ColumnType::kDecimalText
                  : cdc_type == "other"   ? ColumnType::kOther
                                          : ColumnType::kString;
    column.length = IntMember(field, "cdc.length", 0);
  } else if (base == "float") {
    column.type = ColumnType::kFloat32;
  } else if (base == "double") {
    column.type = ColumnType::kFloat64;
  } else if (base == "boolean") {
    column.type = ColumnType::kBoolean;
  } else {
    Fail("unsupported column type " + type.dump());
  }
  return column;
}

}  // namespace

std::string SanitizeName(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  for (char c : name) out += IsNameChar(c) ? c : '_';
  if (out.empty() || !IsNameStart(out.front())) out.insert(out.begin(), '_');
  return out;
}

std::vector<std::string> SanitizeNames(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  std::set<std::string> taken;
  // Names that are already valid keep their spelling, whatever their position.
  for (const std::string& name : names) {
    if (SanitizeName(name) == name) taken.insert(name);
  }
  for (const std::string& name : names) {
    std::string candidate = SanitizeName(name);
    if (candidate != name) {
      const std::string base = candidate;
      for (int n = 2; taken.count(candidate) != 0; ++n) candidate = base + "_" + std::to_string(n);
      taken.insert(candidate);
    }
    out.push_back(std::move(candidate));
  }
  return out;
}

std::string TableNamespace(std::string_view topic_prefix, const TableMeta& table) {
  return SanitizeName(topic_prefix) + "." + SanitizeName(table.schema) + "." +
         SanitizeName(table.table);
}

std::string KeySchema(std::string_view topic_prefix, const TableMeta& table) {
  Json record = RowRecord("Key", table, table.key);
  record["namespace"] = TableNamespace(topic_prefix, table);
  record["cdc.table"] = table.QualifiedName();
  return record.dump();
}

std::string ValueSchema(std::string_view topic_prefix, const TableMeta& table) {
  std::vector<size_t> all(table.columns.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  Json row = RowRecord("Value", table, all);
  Json key_names = Json::array();
  for (size_t index : table.key) key_names.push_back(table.columns[index].name);
  row["cdc.key"] = std::move(key_names);

  Json envelope;
  envelope["type"] = "record";
  envelope["name"] = "Envelope";
  envelope["namespace"] = TableNamespace(topic_prefix, table);
  envelope["cdc.table"] = table.QualifiedName();
  envelope["cdc.db"] = table.db;
  envelope["cdc.schema"] = table.schema;
  envelope["cdc.source_table"] = table.table;
  envelope["fields"] = Json::array({
      Json{{"name", "before"},
           {"type", Json::array({"null", std::move(row)})},
           {"default", nullptr}},
      Json{{"name", "after"}, {"type", Json::array({"null", "Value"})}, {"default", nullptr}},
      Json{{"name", "source"}, {"type", SourceRecord()}},
      Json{{"name", "op"}, {"type", "string"}},
      Json{{"name", "ts_ms"}, {"type", "long"}},
  });
  return envelope.dump();
}

TableMeta TableFromValueSchema(std::string_view value_schema_json) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(value_schema_json);
  } catch (const nlohmann::json::parse_error& e) {
    Fail(std::string("JSON parse error: ") + e.what());
  }
  if (!root.is_object() || StringMember(root, "name", "") != "Envelope" ||
      !root.contains("fields") || !root["fields"].is_array() || root["fields"].empty()) {
    Fail("expected the Envelope record");
  }
  const nlohmann::json& before = root["fields"][0];
  if (StringMember(before, "name", "") != "before" || !before.contains("type") ||
      !before["type"].is_array() || before["type"].size() != 2 || !before["type"][1].is_object()) {
    Fail("expected before: [\"null\", Value]");
  }
  const nlohmann::json& row = before["type"][1];
  if (!row.contains("fields") || !row["fields"].is_array()) Fail("Value record without fields");
  TableMeta table;
  table.db = StringMember(root, "cdc.db", "");
  table.schema = StringMember(root, "cdc.schema", "");
  table.table = StringMember(root, "cdc.source_table", "");
  for (const nlohmann::json& field : row["fields"]) table.columns.push_back(ColumnFromField(field));
  if (row.contains("cdc.key") && row["cdc.key"].is_array()) {
    for (const nlohmann::json& key : row["cdc.key"]) {
      if (!key.is_string()) Fail("cdc.key entry is not a string");
      const std::optional<size_t> index = table.Find(key.get<std::string>());
      if (!index) Fail("cdc.key names unknown column " + key.get<std::string>());
      table.key.push_back(*index);
    }
  }
  return table;
}

}  // namespace cdc::avro
