// A client of a Confluent-compatible schema registry (REST): POST /subjects/{subject}/versions to
// register, GET /schemas/ids/{id} to look up. Basic auth and TLS (CA file) are supported;
// transient failures (connection errors, 5xx, 429) are retried with backoff up to the deadline.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/config/config.h"
#include "common/log.h"
#include "common/registry/schema_registry.h"

namespace httplib {
class Client;
}

namespace cdc::registry {

struct ConfluentSettings {
  std::string url;  // http(s)://host[:port][/prefix]
  std::string user;
  std::string password;
  std::string ca_location;  // CA bundle for https; empty = system default
  std::chrono::milliseconds timeout{10'000};
  BackoffPolicy retry{std::chrono::milliseconds(100), std::chrono::milliseconds(5'000), 2.0,
                      std::chrono::milliseconds(60'000)};

  static ConfluentSettings FromConfig(const config::ConfigView& config);
};

class ConfluentRegistry final : public SchemaRegistry {
 public:
  // Throws config::ConfigError naming kafka.schema_registry_url when the URL does not parse.
  ConfluentRegistry(ConfluentSettings settings, Clock& clock, Logger logger);
  ~ConfluentRegistry() override;

  int32_t Register(const std::string& subject, const std::string& schema) override;
  std::string Lookup(int32_t id) override;

 private:
  struct Response {
    int status = 0;
    std::string body;
  };
  // One HTTP call with retries on transient failures.
  Response Call(const std::string& method, const std::string& path, const std::string& body);

  const ConfluentSettings settings_;
  Clock& clock_;
  const Logger logger_;
  std::string prefix_;  // path prefix from the URL
  std::mutex mutex_;    // guards client_ and the caches
  std::unique_ptr<httplib::Client> client_;
  std::map<std::pair<std::string, std::string>, int32_t> ids_;  // (subject, schema) -> id
  std::map<int32_t, std::string> schemas_;                      // id -> schema
};

}  // namespace cdc::registry
