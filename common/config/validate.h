// Internal to the config loader (config.cc): ${VAR} expansion over a parsed tree, environment
// overrides, validation against the schema, and the scalar parsers the getters share.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/expand.h"
#include "common/config/schema.h"

namespace cdc::config {

// `"text"` for scalars, "a list" / "a map" / "nothing" otherwise (for error messages).
std::string Quoted(const YAML::Node& node);
bool ParseInt(const std::string& text, int64_t* out);
bool ParseDouble(const std::string& text, double* out);
bool ParseBool(const std::string& text, bool* out);
// The spec at dotted `path` below `specs`, or nullptr.
const KeySpec* FindIn(const std::vector<KeySpec>& specs, std::string_view path);

// Expands ${VAR} in every scalar of the tree, in place; problems name the key path.
void ExpandTree(YAML::Node node, const std::string& path, const EnvironmentMap& env,
                std::vector<std::string>& problems);
// Applies CDC_<SECTION>_<KEY> overrides; records which path came from which variable.
void ApplyOverrides(YAML::Node root, const ConfigSchema& schema, const EnvironmentMap& env,
                    std::map<std::string, std::string>& sources,
                    std::vector<std::string>& problems);
// Every problem of `root` against `schema` (unknown keys, types, ranges, required keys).
std::vector<std::string> Validate(const YAML::Node& root, const ConfigSchema& schema,
                                  const std::map<std::string, std::string>& override_sources);

}  // namespace cdc::config
