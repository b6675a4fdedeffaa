#include "common/config/validate.h"

#include <charconv>
#include <set>
#include <sstream>

#include "common/config/expand.h"

namespace cdc::config {
namespace {

std::string Suggestion(std::string_view name, const std::vector<KeySpec>& specs) {
  std::string best;
  size_t best_distance = 3;
  for (const KeySpec& spec : specs) {
    const size_t distance = EditDistance(name, spec.name);
    if (distance < best_distance) best = spec.name, best_distance = distance;
  }
  return best.empty() ? "" : " (did you mean " + best + "?)";
}

class Validator {
 public:
  explicit Validator(const std::map<std::string, std::string>& override_sources)
      : override_sources_(override_sources) {}

  void Section(const YAML::Node& map, const std::vector<KeySpec>& specs,
               const std::string& prefix) {
    for (auto entry : map) {
      const std::string key = entry.first.as<std::string>();
      const KeySpec* spec = nullptr;
      for (const KeySpec& candidate : specs) {
        if (candidate.name == key) spec = &candidate;
      }
      if (spec == nullptr) {
        problems_.push_back(prefix + key + ": unknown key" + Suggestion(key, specs));
        continue;
      }
      Value(entry.second, *spec, prefix + key);
    }
    for (const KeySpec& spec : specs) {
      const YAML::Node value = map[spec.name];
      const bool absent = !value.IsDefined() || value.IsNull();
      if (spec.required && absent) {
        problems_.push_back(prefix + spec.name + ": required key is missing");
      } else if (absent && spec.type == ValueType::kSection) {
        // An absent section still has to supply its required keys.
        Section(YAML::Node(YAML::NodeType::Map), spec.children, prefix + spec.name + ".");
      }
    }
  }

  std::vector<std::string> TakeProblems() { return std::move(problems_); }

 private:
  void Value(const YAML::Node& node, const KeySpec& spec, const std::string& path) {
    if (node.IsNull()) return;  // `key:` with no value reads as unset; required-ness is checked
    const std::string got = Quoted(node);
    auto bad = [&](const std::string& expected) {
      const auto source = override_sources_.find(path);
      const std::string where =
          source == override_sources_.end() ? path : path + " (from " + source->second + ")";
      problems_.push_back(where + ": expected " + expected + ", got " + got);
    };
    switch (spec.type) {
      case ValueType::kString:
        if (!node.IsScalar()) bad(DescribeType(spec));
        return;
      case ValueType::kInt: {
        int64_t value = 0;
        if (!node.IsScalar() || !ParseInt(node.Scalar(), &value)) return bad(DescribeType(spec));
        if ((spec.min && value < *spec.min) || (spec.max && value > *spec.max)) {
          std::string range = "an integer";
          if (spec.min) range += " >= " + std::to_string(*spec.min);
          if (spec.min && spec.max) range += " and";
          if (spec.max) range += " <= " + std::to_string(*spec.max);
          bad(range);
        }
        return;
      }
      case ValueType::kBool: {
        bool value = false;
        if (!node.IsScalar() || !ParseBool(node.Scalar(), &value)) bad(DescribeType(spec));
        return;
      }
      case ValueType::kDouble: {
        double value = 0;
        if (!node.IsScalar() || !ParseDouble(node.Scalar(), &value)) bad(DescribeType(spec));
        return;
      }
      case ValueType::kEnum:
        if (!node.IsScalar() || std::find(spec.allowed.begin(), spec.allowed.end(),
                                          node.Scalar()) == spec.allowed.end()) {
          bad(DescribeType(spec));
        }
        return;
      case ValueType::kStringList:
        if (!node.IsSequence()) return bad(DescribeType(spec));
        for (size_t i = 0; i < node.size(); ++i) {
          if (!node[i].IsScalar()) {
            problems_.push_back(path + "[" + std::to_string(i) + "]: expected a string, got " +
                                Quoted(node[i]));
          }
        }
        return;
      case ValueType::kStringMap:
        if (!node.IsMap()) return bad(DescribeType(spec));
        for (auto entry : node) {
          if (!entry.second.IsScalar()) {
            problems_.push_back(path + "." + entry.first.as<std::string>() +
                                ": expected a scalar value, got " + Quoted(entry.second));
          }
        }
        return;
      case ValueType::kSection:
        if (!node.IsMap()) return bad(DescribeType(spec));
        Section(node, spec.children, path + ".");
        return;
      case ValueType::kList:
        if (!node.IsSequence()) return bad(DescribeType(spec));
        for (size_t i = 0; i < node.size(); ++i) {
          const std::string item = path + "[" + std::to_string(i) + "]";
          if (!node[i].IsMap()) {
            problems_.push_back(item + ": expected a map, got " + Quoted(node[i]));
          } else {
            Section(node[i], spec.children, item + ".");
          }
        }
        return;
    }
  }

  const std::map<std::string, std::string>& override_sources_;
  std::vector<std::string> problems_;
};

}  // namespace

std::string Quoted(const YAML::Node& node) {
  if (node.IsScalar()) return "\"" + node.Scalar() + "\"";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a map";
  return "nothing";
}

bool ParseInt(const std::string& text, int64_t* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && !text.empty();
}

bool ParseDouble(const std::string& text, double* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && !text.empty();
}

bool ParseBool(const std::string& text, bool* out) {
  if (text == "true" || text == "True" || text == "TRUE") return *out = true, true;
  if (text == "false" || text == "False" || text == "FALSE") return *out = false, true;
  return false;
}

const KeySpec* FindIn(const std::vector<KeySpec>& specs, std::string_view path) {
  const size_t dot = path.find('.');
  for (const KeySpec& spec : specs) {
    if (spec.name != path.substr(0, dot)) continue;
    if (dot == std::string_view::npos || spec.type == ValueType::kStringMap) return &spec;
    return FindIn(spec.children, path.substr(dot + 1));
  }
  return nullptr;
}

// Expands ${VAR} in every scalar of the tree, in place.
void ExpandTree(YAML::Node node, const std::string& path, const EnvironmentMap& env,
                std::vector<std::string>& problems) {
  if (node.IsScalar()) {
    std::string error;
    std::optional<std::string> expanded = ExpandVariables(node.Scalar(), env, &error);
    if (!expanded) {
      problems.push_back(path + ": " + error);
    } else if (*expanded != node.Scalar()) {
      node = *expanded;
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      ExpandTree(node[i], path + "[" + std::to_string(i) + "]", env, problems);
    }
  } else if (node.IsMap()) {
    for (auto entry : node) {
      ExpandTree(entry.second, path + "." + entry.first.as<std::string>(), env, problems);
    }
  }
}

// Applies CDC_<SECTION>_<KEY> overrides to the section's direct scalar and list keys. Records
// which path came from which variable; reports CDC_<SECTION>_* variables that name no key.
void ApplyOverrides(YAML::Node root, const ConfigSchema& schema, const EnvironmentMap& env,
                    std::map<std::string, std::string>& sources,
                    std::vector<std::string>& problems) {
  std::set<std::string> known;
  for (const KeySpec& section : schema.sections) {
    for (const KeySpec& key : section.children) {
      if (key.type == ValueType::kSection || key.type == ValueType::kList ||
          key.type == ValueType::kStringMap) {
        continue;
      }
      const std::string var = OverrideVariableName(section.name, key.name);
      known.insert(var);
      const auto found = env.find(var);
      if (found == env.end()) continue;
      if (!root[section.name].IsDefined() || root[section.name].IsNull()) {
        root[section.name] = YAML::Node(YAML::NodeType::Map);
      }
      if (!root[section.name].IsMap()) continue;  // reported by validation
      YAML::Node value;
      if (key.type == ValueType::kStringList) {
        if (!found->second.empty() && found->second.front() == '[') {
          try {
            value = YAML::Load(found->second);
          } catch (const YAML::Exception& e) {
            problems.push_back(var + ": not a YAML list: " + e.msg);
            continue;
          }
        } else {
          value = YAML::Node(YAML::NodeType::Sequence);
          std::stringstream items(found->second);
          for (std::string item; std::getline(items, item, ',');) {
            if (!item.empty()) value.push_back(item);
          }
        }
      } else {
        value = found->second;
      }
      root[section.name][key.name] = value;
      sources[section.name + "." + key.name] = var;
    }
  }
  for (const auto& [name, unused] : env) {
    if (name.rfind("CDC_", 0) != 0 || known.count(name) != 0) continue;
    for (const KeySpec& section : schema.sections) {
      const std::string prefix = OverrideVariableName(section.name, "");
      if (name.rfind(prefix, 0) == 0) {
        problems.push_back(name + ": environment override names no key of section " + section.name);
      }
    }
  }
}

std::vector<std::string> Validate(const YAML::Node& root, const ConfigSchema& schema,
                                  const std::map<std::string, std::string>& override_sources) {
  Validator validator(override_sources);
  validator.Section(root, schema.sections, "");
  return validator.TakeProblems();
}

}  // namespace cdc::config
