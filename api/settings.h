// The API's view of the configuration (sections api, postgres, pipeline), validated at start-up:
// every problem is a ConfigError naming its key path.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/host_port.h"

namespace cdc::api {

struct ApiSettings {
  std::string postgres_url;
  std::string target_schema;  // where the replicated tables live
  HostPort listen;
  int pool_size = 8;
  int threads = 64;                 // workers for pages, long-polls, status
  int io_threads = 1;               // event loops, each with a batch thread for reads by key
  std::vector<std::string> tokens;  // from api.tokens and api.tokens_file; empty = auth off
  std::vector<std::string> open_paths;
  int64_t rate_limit_per_second = 0;  // 0 = off
  int64_t rate_limit_burst = 100;
  int64_t max_page_size = 1000;
  std::chrono::milliseconds statement_timeout{5000};
  std::vector<std::string> cors_origins;

  // Throws config::ConfigError listing every problem (an unreadable tokens_file included).
  static ApiSettings FromConfig(const config::Config& config);
};

}  // namespace cdc::api
