#include "common/config/expand.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace cdc::config {

std::optional<std::string> ExpandVariables(std::string_view text, const EnvironmentMap& env,
                                           std::string* error) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      *error = "unterminated ${ in value";
      return std::nullopt;
    }
    const std::string_view body = text.substr(i + 2, close - i - 2);
    const size_t sep = body.find(":-");
    const std::string_view name = body.substr(0, sep);
    if (name.empty()) {
      *error = "empty variable name in ${}";
      return std::nullopt;
    }
    const auto found = env.find(name);
    if (found != env.end() && !(sep != std::string_view::npos && found->second.empty())) {
      out += found->second;
    } else if (sep != std::string_view::npos) {
      out += body.substr(sep + 2);
    } else {
      *error = "environment variable " + std::string(name) + " is not set";
      return std::nullopt;
    }
    i = close + 1;
  }
  return out;
}

std::string OverrideVariableName(std::string_view section, std::string_view key) {
  std::string out = "CDC_";
  auto append = [&out](std::string_view part) {
    for (char c : part) {
      out += (c == '.' || c == '-')
                 ? '_'
                 : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  };
  append(section);
  out += '_';
  append(key);
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace cdc::config
