// The loaded, validated configuration. Load() reads one YAML file, expands ${VAR} and
// ${VAR:-default} in values, applies CDC_<SECTION>_<KEY> environment overrides, checks every key
// against the schema and fills defaults. Any problem throws ConfigError listing every bad key path
// at once; binaries print it and exit with code 2.
//
// Getters take dotted paths ("kafka.format"). Asking for a path the schema does not declare, or
// for the wrong type, is a programmer error (std::logic_error). A Config is immutable after load
// and safe to read from any thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config/expand.h"
#include "common/config/schema.h"
#include "common/error.h"

namespace cdc::config {

// Exit code for usage and configuration errors.
inline constexpr int kConfigErrorExitCode = 2;

class ConfigError : public FatalError {
 public:
  explicit ConfigError(std::vector<std::string> problems);
  // Each problem starts with the key path: `kafka.format: expected one of avro|json, got "avor"`.
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

struct ConfigState;  // the parsed tree and its schema, shared by all views of one Config

// A read-only view of one map in the configuration (the root, or one item of a kList).
// Missing keys read as their schema default; a missing key without default is an error for
// Get*() and nullopt for Find*().
class ConfigView {
 public:
  std::string GetString(std::string_view path) const;
  std::string GetString(std::string_view path, std::string fallback) const;
  std::optional<std::string> FindString(std::string_view path) const;
  int64_t GetInt(std::string_view path) const;
  bool GetBool(std::string_view path) const;
  double GetDouble(std::string_view path) const;
  std::vector<std::string> GetStringList(std::string_view path) const;
  std::map<std::string, std::string> GetStringMap(std::string_view path) const;
  std::vector<ConfigView> GetList(std::string_view path) const;
  // True when the file (or an override) set the key, as opposed to a default.
  bool IsSet(std::string_view path) const;

 protected:
  ConfigView(std::shared_ptr<const ConfigState> state, const KeySpec* item_spec,
             const YAML::Node& node, std::string prefix);

  std::shared_ptr<const ConfigState> state_;

 private:
  const KeySpec& SpecFor(std::string_view path, std::initializer_list<ValueType> expected) const;
  // The YAML text for `path`: the configured value or the default; nullopt when neither.
  std::optional<YAML::Node> Lookup(std::string_view path, const KeySpec& spec) const;
  [[noreturn]] void Missing(std::string_view path) const;

  const KeySpec* item_spec_;  // null for the root view; the kList spec for list items
  YAML::Node node_;           // the map this view reads
  std::string prefix_;        // "producer.tables[1]." for list items, for messages
};

class Config : public ConfigView {
 public:
  // Throws ConfigError. `env` is the process environment (Config::ProcessEnvironment()) or a
  // test's map.
  static Config Load(const std::string& path, ConfigSchema schema, const EnvironmentMap& env);
  static Config Parse(std::string_view yaml_text, ConfigSchema schema, const EnvironmentMap& env,
                      const std::string& source_name = "<config>");
  static EnvironmentMap ProcessEnvironment();

  // The effective configuration (values and defaults) as YAML, with every secret replaced by
  // ***: keys marked secret in the schema, map entries whose key names a secret (sasl.password,
  // ssl.key.password, ...), and passwords inside URLs and connection strings.
  std::string RedactedDump() const;

 private:
  explicit Config(std::shared_ptr<const ConfigState> state);
};

}  // namespace cdc::config
