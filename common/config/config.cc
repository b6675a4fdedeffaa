#include "common/config/config.h"

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "common/redact.h"

extern char** environ;

namespace cdc::config {

struct ConfigState {
  YAML::Node root;
  ConfigSchema schema;
};

namespace {

std::string JoinProblems(const std::vector<std::string>& problems) {
  std::string out = "invalid configuration:";
  for (const std::string& problem : problems) out += "\n  " + problem;
  return out;
}

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

std::string Suggestion(std::string_view name, const std::vector<KeySpec>& specs) {
  std::string best;
  size_t best_distance = 3;
  for (const KeySpec& spec : specs) {
    const size_t distance = EditDistance(name, spec.name);
    if (distance < best_distance) best = spec.name, best_distance = distance;
  }
  return best.empty() ? "" : " (did you mean " + best + "?)";
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

void EmitValue(YAML::Emitter& out, const YAML::Node& value, const KeySpec& spec);

void EmitSection(YAML::Emitter& out, const YAML::Node& map, const std::vector<KeySpec>& specs) {
  out << YAML::BeginMap;
  for (const KeySpec& spec : specs) {
    YAML::Node configured = map.IsMap() ? map[spec.name] : YAML::Node();
    const bool present = configured.IsDefined() && !configured.IsNull();
    if (!present && !spec.default_value && spec.type != ValueType::kSection) continue;
    const YAML::Node value = present              ? configured
                             : spec.default_value ? YAML::Load(*spec.default_value)
                                                  : YAML::Node(YAML::NodeType::Map);
    out << YAML::Key << spec.name << YAML::Value;
    EmitValue(out, value, spec);
  }
  out << YAML::EndMap;
}

void EmitValue(YAML::Emitter& out, const YAML::Node& value, const KeySpec& spec) {
  if (spec.secret) {
    out << std::string(kRedacted);
    return;
  }
  switch (spec.type) {
    case ValueType::kSection:
      EmitSection(out, value, spec.children);
      return;
    case ValueType::kList:
      out << YAML::BeginSeq;
      for (const YAML::Node& item : value) EmitSection(out, item, spec.children);
      out << YAML::EndSeq;
      return;
    case ValueType::kStringMap:
      out << YAML::BeginMap;
      for (auto entry : value) {
        const std::string key = entry.first.as<std::string>();
        out << YAML::Key << key << YAML::Value
            << (IsSecretKey(key) ? std::string(kRedacted) : RedactSecrets(entry.second.Scalar()));
      }
      out << YAML::EndMap;
      return;
    case ValueType::kStringList:
      out << YAML::Flow << YAML::BeginSeq;
      for (const YAML::Node& item : value) out << RedactSecrets(item.Scalar());
      out << YAML::EndSeq;
      return;
    default:
      out << RedactSecrets(value.Scalar());
      return;
  }
}

}  // namespace

ConfigError::ConfigError(std::vector<std::string> problems)
    : FatalError("CONFIG", JoinProblems(problems)), problems_(std::move(problems)) {}

Config::Config(std::shared_ptr<const ConfigState> state)
    : ConfigView(state, nullptr, state->root, "") {}

Config Config::Load(const std::string& path, ConfigSchema schema, const EnvironmentMap& env) {
  std::ifstream file(path);
  if (!file) throw ConfigError({"--config: cannot read file \"" + path + "\""});
  std::stringstream text;
  text << file.rdbuf();
  return Parse(text.str(), std::move(schema), env, path);
}

Config Config::Parse(std::string_view yaml_text, ConfigSchema schema, const EnvironmentMap& env,
                     const std::string& source_name) {
  auto state = std::make_shared<ConfigState>();
  state->schema = std::move(schema);
  try {
    state->root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    throw ConfigError({source_name + ": not valid YAML: " + e.what()});
  }
  if (state->root.IsNull()) state->root = YAML::Node(YAML::NodeType::Map);
  if (!state->root.IsMap()) {
    throw ConfigError({source_name + ": expected a map of sections, got " + Quoted(state->root)});
  }
  std::vector<std::string> problems;
  for (auto entry : state->root) {
    ExpandTree(entry.second, entry.first.as<std::string>(), env, problems);
  }
  std::map<std::string, std::string> override_sources;
  ApplyOverrides(state->root, state->schema, env, override_sources, problems);
  Validator validator(override_sources);
  validator.Section(state->root, state->schema.sections, "");
  for (std::string& problem : validator.TakeProblems()) problems.push_back(std::move(problem));
  if (!problems.empty()) throw ConfigError(std::move(problems));
  return Config(std::move(state));
}

EnvironmentMap Config::ProcessEnvironment() {
  EnvironmentMap env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const size_t eq = text.find('=');
    if (eq != std::string_view::npos) env.emplace(text.substr(0, eq), text.substr(eq + 1));
  }
  return env;
}

std::string Config::RedactedDump() const {
  YAML::Emitter out;
  EmitSection(out, state_->root, state_->schema.sections);
  return out.c_str();
}

// ---- ConfigView ----------------------------------------------------------------------------

ConfigView::ConfigView(std::shared_ptr<const ConfigState> state, const KeySpec* item_spec,
                       const YAML::Node& node, std::string prefix)
    : state_(std::move(state)),
      item_spec_(item_spec),
      node_(node),  // YAML::Node is a shared handle: copying shares the node
      prefix_(std::move(prefix)) {}

const KeySpec& ConfigView::SpecFor(std::string_view path,
                                   std::initializer_list<ValueType> expected) const {
  const KeySpec* spec = item_spec_ == nullptr ? FindIn(state_->schema.sections, path)
                                              : FindIn(item_spec_->children, path);
  if (spec == nullptr) {
    throw std::logic_error("config path not in schema: " + prefix_ + std::string(path));
  }
  if (std::find(expected.begin(), expected.end(), spec->type) == expected.end()) {
    throw std::logic_error("config path read as the wrong type: " + prefix_ + std::string(path));
  }
  return *spec;
}

std::optional<YAML::Node> ConfigView::Lookup(std::string_view path, const KeySpec& spec) const {
  // yaml-cpp handles share nodes: walk with fresh handles (never assign through one), and only
  // through const access, which never inserts.
  std::optional<YAML::Node> current(node_);
  std::string_view rest = path;
  while (!rest.empty() && current && current->IsMap()) {
    const size_t dot = rest.find('.');
    const YAML::Node& parent = *current;
    YAML::Node child = parent[std::string(rest.substr(0, dot))];
    if (!child.IsDefined()) {
      current.reset();
      break;
    }
    current.emplace(child);
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
  }
  if (rest.empty() && current && !current->IsNull()) return current;
  if (spec.default_value) return YAML::Load(*spec.default_value);
  return std::nullopt;
}

void ConfigView::Missing(std::string_view path) const {
  throw ConfigError({prefix_ + std::string(path) + ": required key is missing"});
}

std::optional<std::string> ConfigView::FindString(std::string_view path) const {
  const KeySpec& spec = SpecFor(path, {ValueType::kString, ValueType::kEnum, ValueType::kInt,
                                       ValueType::kBool, ValueType::kDouble});
  std::optional<YAML::Node> node = Lookup(path, spec);
  if (!node) return std::nullopt;
  return node->Scalar();
}

std::string ConfigView::GetString(std::string_view path) const {
  std::optional<std::string> value = FindString(path);
  if (!value) Missing(path);
  return *value;
}

std::string ConfigView::GetString(std::string_view path, std::string fallback) const {
  return FindString(path).value_or(std::move(fallback));
}

int64_t ConfigView::GetInt(std::string_view path) const {
  const KeySpec& spec = SpecFor(path, {ValueType::kInt});
  std::optional<YAML::Node> node = Lookup(path, spec);
  int64_t value = 0;
  if (!node) Missing(path);
  if (!ParseInt(node->Scalar(), &value)) {
    throw std::logic_error("schema default is not an integer: " + std::string(path));
  }
  return value;
}

bool ConfigView::GetBool(std::string_view path) const {
  const KeySpec& spec = SpecFor(path, {ValueType::kBool});
  std::optional<YAML::Node> node = Lookup(path, spec);
  bool value = false;
  if (!node) Missing(path);
  if (!ParseBool(node->Scalar(), &value)) {
    throw std::logic_error("schema default is not a boolean: " + std::string(path));
  }
  return value;
}

double ConfigView::GetDouble(std::string_view path) const {
  const KeySpec& spec = SpecFor(path, {ValueType::kDouble, ValueType::kInt});
  std::optional<YAML::Node> node = Lookup(path, spec);
  double value = 0;
  if (!node) Missing(path);
  if (!ParseDouble(node->Scalar(), &value)) {
    throw std::logic_error("schema default is not a number: " + std::string(path));
  }
  return value;
}

std::vector<std::string> ConfigView::GetStringList(std::string_view path) const {
  const KeySpec& spec = SpecFor(path, {ValueType::kStringList});
  std::optional<YAML::Node> node = Lookup(path, spec);
  std::vector<std::string> out;
  if (!node) return out;
  for (const YAML::Node& item : *node) out.push_back(item.Scalar());
  return out;
}

std::map<std::string, std::string> ConfigView::GetStringMap(std::string_view path) const {
  const KeySpec& spec = SpecFor(path, {ValueType::kStringMap});
  std::optional<YAML::Node> node = Lookup(path, spec);
  std::map<std::string, std::string> out;
  if (!node) return out;
  for (auto entry : *node) out.emplace(entry.first.as<std::string>(), entry.second.Scalar());
  return out;
}

std::vector<ConfigView> ConfigView::GetList(std::string_view path) const {
  const KeySpec& spec = SpecFor(path, {ValueType::kList});
  std::optional<YAML::Node> node = Lookup(path, spec);
  std::vector<ConfigView> out;
  if (!node) return out;
  for (size_t i = 0; i < node->size(); ++i) {
    const YAML::Node& list = *node;
    out.push_back(ConfigView(state_, &spec, list[i],
                             prefix_ + std::string(path) + "[" + std::to_string(i) + "]."));
  }
  return out;
}

bool ConfigView::IsSet(std::string_view path) const {
  const KeySpec* spec = item_spec_ == nullptr ? FindIn(state_->schema.sections, path)
                                              : FindIn(item_spec_->children, path);
  if (spec == nullptr) return false;
  KeySpec without_default = *spec;
  without_default.default_value.reset();
  return Lookup(path, without_default).has_value();
}

}  // namespace cdc::config
