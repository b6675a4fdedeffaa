#include "common/config/config.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/config/validate.h"
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
  for (std::string& problem : Validate(state->root, state->schema, override_sources)) {
    problems.push_back(std::move(problem));
  }
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
