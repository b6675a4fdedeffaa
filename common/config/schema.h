// The declared shape of the configuration file: every section and key any binary accepts, with
// its type, default and constraints. The loader rejects keys that are not declared here, so one
// schema describes the whole file even though each binary reads only its own sections.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cdc::config {

enum class ValueType {
  kString,
  kInt,
  kBool,
  kDouble,
  kEnum,        // a string restricted to `allowed`
  kStringList,  // YAML sequence of scalars (an env override may be "a,b,c" or "[a, b]")
  kStringMap,   // YAML map of scalar values with free-form keys (e.g. librdkafka properties)
  kSection,     // YAML map validated against `children`
  kList,        // YAML sequence of maps, each validated against `children`
};

struct KeySpec {
  std::string name;
  ValueType type = ValueType::kString;
  bool required = false;
  std::optional<std::string> default_value;  // YAML text of the default (scalars and lists)
  std::vector<std::string> allowed;          // kEnum
  std::optional<int64_t> min;                // kInt
  std::optional<int64_t> max;                // kInt
  bool secret = false;                       // value is redacted in dumps
  std::vector<KeySpec> children;             // kSection, kList

  static KeySpec String(std::string name) { return Make(std::move(name), ValueType::kString); }
  static KeySpec Int(std::string name, std::optional<int64_t> min = std::nullopt,
                     std::optional<int64_t> max = std::nullopt);
  static KeySpec Bool(std::string name) { return Make(std::move(name), ValueType::kBool); }
  static KeySpec Double(std::string name) { return Make(std::move(name), ValueType::kDouble); }
  static KeySpec Enum(std::string name, std::vector<std::string> allowed);
  static KeySpec StringList(std::string name) {
    return Make(std::move(name), ValueType::kStringList);
  }
  static KeySpec StringMap(std::string name) {
    return Make(std::move(name), ValueType::kStringMap);
  }
  static KeySpec Section(std::string name, std::vector<KeySpec> children);
  static KeySpec List(std::string name, std::vector<KeySpec> item_children);

  KeySpec&& Required() && {
    required = true;
    return std::move(*this);
  }
  KeySpec&& Default(std::string yaml_text) && {
    default_value = std::move(yaml_text);
    return std::move(*this);
  }
  KeySpec&& Secret() && {
    secret = true;
    return std::move(*this);
  }

  const KeySpec* FindChild(std::string_view child_name) const;

 private:
  static KeySpec Make(std::string name, ValueType type);
};

struct ConfigSchema {
  std::vector<KeySpec> sections;  // top-level keys, each a kSection

  const KeySpec* FindSection(std::string_view name) const;
  // Resolves a dotted path ("kafka.format") to its spec, or nullptr. List items are addressed
  // through their list's spec ("producer.tables.name").
  const KeySpec* Find(std::string_view path) const;
};

// The schema of this project's configuration file: the sections shared by every binary
// (pipeline, log, kafka) plus each binary's own sections as they are added.
ConfigSchema ProjectSchema();

// Human-readable type name used in error messages ("an integer", "a list of strings").
std::string DescribeType(const KeySpec& spec);

}  // namespace cdc::config
