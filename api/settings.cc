#include "api/settings.h"

#include <fstream>

#include "common/error.h"
#include "common/sql_quote.h"

namespace cdc::api {
namespace {

std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

}  // namespace

ApiSettings ApiSettings::FromConfig(const config::Config& config) {
  std::vector<std::string> problems;
  ApiSettings s;
  s.postgres_url = config.GetString("postgres.url", "");
  if (s.postgres_url.empty()) {
    problems.push_back("postgres.url: required by cdc-api (a libpq URL of the replica)");
  }
  s.target_schema = config.GetString("postgres.schema");
  try {
    (void)QuoteIdentifier(SqlDialect::kPostgres, s.target_schema);
  } catch (const Error& e) {
    problems.push_back(std::string("postgres.schema: ") + e.what());
  }
  try {
    s.listen = ParseHostPort(config.GetString("api.listen"));
  } catch (const Error& e) {
    problems.push_back(std::string("api.listen: ") + e.what());
  }
  s.pool_size = static_cast<int>(config.GetInt("api.pool_size"));
  s.threads = static_cast<int>(config.GetInt("api.threads"));
  s.io_threads = static_cast<int>(config.GetInt("api.io_threads"));
  for (const std::string& token : config.GetStringList("api.tokens")) {
    if (token.empty()) {
      problems.push_back("api.tokens: a token is empty (is its environment variable unset?)");
    } else {
      s.tokens.push_back(token);
    }
  }
  const std::string tokens_file = config.GetString("api.tokens_file");
  if (!tokens_file.empty()) {
    std::ifstream in(tokens_file);
    if (!in) {
      problems.push_back("api.tokens_file: cannot read \"" + tokens_file + "\"");
    } else {
      for (std::string line; std::getline(in, line);) {
        const std::string token = Trim(line);
        if (!token.empty() && token[0] != '#') s.tokens.push_back(token);
      }
    }
  }
  s.open_paths = config.GetStringList("api.open_paths");
  for (const std::string& path : s.open_paths) {
    if (path.empty() || path[0] != '/') {
      problems.push_back("api.open_paths: \"" + path + "\" is not a path (it starts with /)");
    }
  }
  s.rate_limit_per_second = config.GetInt("api.rate_limit_per_second");
  s.rate_limit_burst = config.GetInt("api.rate_limit_burst");
  s.max_page_size = config.GetInt("api.max_page_size");
  s.statement_timeout = std::chrono::milliseconds(config.GetInt("api.statement_timeout_ms"));
  s.cors_origins = config.GetStringList("api.cors_origins");
  for (const std::string& origin : s.cors_origins) {
    if (origin.rfind("http://", 0) != 0 && origin.rfind("https://", 0) != 0) {
      problems.push_back("api.cors_origins: \"" + origin +
                         "\" is not an origin (scheme://host[:port])");
    }
  }
  if (!problems.empty()) throw config::ConfigError(problems);
  return s;
}

}  // namespace cdc::api
