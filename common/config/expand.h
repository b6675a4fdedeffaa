// Pure helpers of the config loader: ${VAR} expansion and the names of environment overrides.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace cdc::config {

using EnvironmentMap = std::map<std::string, std::string, std::less<>>;

// Expands `${VAR}` and `${VAR:-default}` in `text` from `env`; `$${` is a literal `${`.
// Returns nullopt and sets `error` when a variable is unset and has no default, or a `${` is not
// closed.
std::optional<std::string> ExpandVariables(std::string_view text, const EnvironmentMap& env,
                                           std::string* error);

// The environment variable that overrides `section.key`: CDC_<SECTION>_<KEY>, upper-cased, with
// '.' and '-' turned into '_' (e.g. kafka.bootstrap_servers -> CDC_KAFKA_BOOTSTRAP_SERVERS).
std::string OverrideVariableName(std::string_view section, std::string_view key);

// Levenshtein distance, for "did you mean" suggestions.
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace cdc::config
