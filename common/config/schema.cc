#include "common/config/schema.h"

namespace cdc::config {

KeySpec KeySpec::Make(std::string name, ValueType type) {
  KeySpec spec;
  spec.name = std::move(name);
  spec.type = type;
  return spec;
}

KeySpec KeySpec::Int(std::string name, std::optional<int64_t> min, std::optional<int64_t> max) {
  KeySpec spec = Make(std::move(name), ValueType::kInt);
  spec.min = min;
  spec.max = max;
  return spec;
}

KeySpec KeySpec::Enum(std::string name, std::vector<std::string> allowed) {
  KeySpec spec = Make(std::move(name), ValueType::kEnum);
  spec.allowed = std::move(allowed);
  return spec;
}

KeySpec KeySpec::Section(std::string name, std::vector<KeySpec> children) {
  KeySpec spec = Make(std::move(name), ValueType::kSection);
  spec.children = std::move(children);
  return spec;
}

KeySpec KeySpec::List(std::string name, std::vector<KeySpec> item_children) {
  KeySpec spec = Make(std::move(name), ValueType::kList);
  spec.children = std::move(item_children);
  return spec;
}

const KeySpec* KeySpec::FindChild(std::string_view child_name) const {
  for (const KeySpec& child : children) {
    if (child.name == child_name) return &child;
  }
  return nullptr;
}

const KeySpec* ConfigSchema::FindSection(std::string_view name) const {
  for (const KeySpec& section : sections) {
    if (section.name == name) return &section;
  }
  return nullptr;
}

const KeySpec* ConfigSchema::Find(std::string_view path) const {
  size_t dot = path.find('.');
  const KeySpec* spec = FindSection(path.substr(0, dot));
  while (spec != nullptr && dot != std::string_view::npos) {
    // kStringMap entries have free-form keys that may contain dots: the map is the answer.
    if (spec->type == ValueType::kStringMap) return spec;
    path.remove_prefix(dot + 1);
    dot = path.find('.');
    spec = spec->FindChild(path.substr(0, dot));
  }
  return spec;
}

std::string DescribeType(const KeySpec& spec) {
  switch (spec.type) {
    case ValueType::kString:
      return "a string";
    case ValueType::kInt:
      return "an integer";
    case ValueType::kBool:
      return "a boolean (true|false)";
    case ValueType::kDouble:
      return "a number";
    case ValueType::kEnum: {
      std::string out = "one of ";
      for (size_t i = 0; i < spec.allowed.size(); ++i) {
        if (i > 0) out += '|';
        out += spec.allowed[i];
      }
      return out;
    }
    case ValueType::kStringList:
      return "a list of strings";
    case ValueType::kStringMap:
      return "a map of key: value";
    case ValueType::kSection:
      return "a map (section)";
    case ValueType::kList:
      return "a list of maps";
  }
  return "a value";
}

}  // namespace cdc::config
