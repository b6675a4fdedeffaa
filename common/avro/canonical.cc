#include "common/avro/canonical.h"

#include <array>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace cdc::avro {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kEmpty = 0xc15d213aa4d7a795ULL;

constexpr std::array<uint64_t, 256> MakeTable() {
  std::array<uint64_t, 256> table{};
  for (uint64_t i = 0; i < 256; ++i) {
    uint64_t fp = i;
    for (int j = 0; j < 8; ++j) fp = (fp >> 1) ^ (kEmpty & (0 - (fp & 1)));
    table[i] = fp;
  }
  return table;
}

constexpr std::array<uint64_t, 256> kTable = MakeTable();

bool IsPrimitive(std::string_view name) {
  return name == "null" || name == "boolean" || name == "int" || name == "long" ||
         name == "float" || name == "double" || name == "bytes" || name == "string";
}

[[noreturn]] void Fail(const std::string& why) {
  throw PermanentError("SCHEMA", "not a valid Avro schema: " + why);
}

std::string Quote(const std::string& text) { return "\"" + text + "\""; }  // [STRINGS]: raw UTF-8

std::string FullName(const Json& node, const std::string& enclosing_namespace,
                     std::string* namespace_out) {
  if (!node.contains("name") || !node["name"].is_string()) Fail("named type without a name");
  const std::string name = node["name"].get<std::string>();
  if (name.find('.') != std::string::npos) {
    *namespace_out = name.substr(0, name.rfind('.'));
    return name;
  }
  std::string ns = enclosing_namespace;
  if (node.contains("namespace") && node["namespace"].is_string()) {
    ns = node["namespace"].get<std::string>();
  }
  *namespace_out = ns;
  return ns.empty() ? name : ns + "." + name;
}

std::string Canonical(const Json& node, const std::string& ns) {
  if (node.is_string()) {
    const std::string name = node.get<std::string>();
    if (IsPrimitive(name) || name.find('.') != std::string::npos || ns.empty()) return Quote(name);
    return Quote(ns + "." + name);  // [FULLNAMES] for references to named types
  }
  if (node.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < node.size(); ++i) {
      if (i > 0) out += ",";
      out += Canonical(node[i], ns);
    }
    return out + "]";
  }
  if (!node.is_object() || !node.contains("type"))
    Fail("expected a string, array or object with \"type\"");
  const Json& type = node["type"];
  if (!type.is_string()) return Canonical(type, ns);  // {"type": {...}} or {"type": [...]}
  const std::string kind = type.get<std::string>();
  if (IsPrimitive(kind)) return Quote(kind);  // [PRIMITIVES], drops logicalType etc.
  if (kind == "record" || kind == "error") {
    std::string inner_ns;
    const std::string name = FullName(node, ns, &inner_ns);
    if (!node.contains("fields") || !node["fields"].is_array()) Fail("record without fields");
    std::string out = "{\"name\":" + Quote(name) + ",\"type\":\"" + kind + "\",\"fields\":[";
    for (size_t i = 0; i < node["fields"].size(); ++i) {
      const Json& field = node["fields"][i];
      if (!field.is_object() || !field.contains("name") || !field["name"].is_string() ||
          !field.contains("type")) {
        Fail("record field without name or type");
      }
      if (i > 0) out += ",";
      out += "{\"name\":" + Quote(field["name"].get<std::string>()) +
             ",\"type\":" + Canonical(field["type"], inner_ns) + "}";
    }
    return out + "]}";
  }
  if (kind == "enum") {
    std::string inner_ns;
    const std::string name = FullName(node, ns, &inner_ns);
    if (!node.contains("symbols") || !node["symbols"].is_array()) Fail("enum without symbols");
    std::string out = "{\"name\":" + Quote(name) + ",\"type\":\"enum\",\"symbols\":[";
    for (size_t i = 0; i < node["symbols"].size(); ++i) {
      if (!node["symbols"][i].is_string()) Fail("enum symbol is not a string");
      if (i > 0) out += ",";
      out += Quote(node["symbols"][i].get<std::string>());
    }
    return out + "]}";
  }
  if (kind == "fixed") {
    std::string inner_ns;
    const std::string name = FullName(node, ns, &inner_ns);
    if (!node.contains("size") || !node["size"].is_number_integer()) Fail("fixed without size");
    return "{\"name\":" + Quote(name) +
           ",\"type\":\"fixed\",\"size\":" + std::to_string(node["size"].get<int64_t>()) +
           "}";  // [INTEGERS]
  }
  if (kind == "array") {
    if (!node.contains("items")) Fail("array without items");
    return "{\"type\":\"array\",\"items\":" + Canonical(node["items"], ns) + "}";
  }
  if (kind == "map") {
    if (!node.contains("values")) Fail("map without values");
    return "{\"type\":\"map\",\"values\":" + Canonical(node["values"], ns) + "}";
  }
  // A named-type reference written as {"type": "Name"}.
  return Canonical(type, ns);
}

}  // namespace

std::string ParsingCanonicalForm(std::string_view schema_json) {
  Json root;
  try {
    root = Json::parse(schema_json);
  } catch (const Json::parse_error& e) {
    Fail(std::string("JSON parse error: ") + e.what());
  }
  return Canonical(root, "");
}

std::string SchemaNormalForm(std::string_view schema_json) {
  ParsingCanonicalForm(schema_json);  // a schema shape, or PermanentError
  return Json::parse(schema_json).dump();
}

uint64_t RabinFingerprint(std::string_view bytes) {
  uint64_t fp = kEmpty;
  for (char c : bytes) fp = (fp >> 8) ^ kTable[(fp ^ static_cast<unsigned char>(c)) & 0xff];
  return fp;
}

int32_t SchemaIdFromFingerprint(uint64_t fingerprint) {
  const auto id = static_cast<int32_t>(fingerprint & 0x7fffffffULL);
  return id == 0 ? 1 : id;
}

}  // namespace cdc::avro
