// The subset of the Confluent Schema Registry REST API that deserializers use, served by cdc-api
// over the embedded registry (the schemas topic, common/registry/topic_registry.h):
//   GET /schemas/ids/{id}                        {"schema": "..."}
//   GET /subjects                                ["cdc.SHOP.ORDERS-key", ...]
//   GET /subjects/{subject}/versions             [1, 2]
//   GET /subjects/{subject}/versions/{v|latest}  {"subject", "version", "id", "schema"}
// in the registry's own format (content type application/vnd.schemaregistry.v1+json; errors
// {"error_code": 40403, "message": ...}), so Confluent's deserializers and
// @kafkajs/confluent-schema-registry can use cdc-api as their registry URL. Query parameters the
// clients add (e.g. fetchMaxId) are ignored. When kafka.schema_registry_url names a registry,
// the schemas are there and these routes answer 404 saying so. The topic is read again from its
// start by a new reader at least every minute and when an id is not found (a recreated topic -
// the dev broker keeps none across restarts - is followed); after a failed read the routes answer
// 503 at once for 5 s instead of each waiting for Kafka. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/router.h"
#include "common/clock.h"
#include "common/registry/topic_registry.h"

namespace cdc::api {

class RegistryApi {
 public:
  using Open = std::function<std::unique_ptr<registry::TopicRegistry>()>;
  // `open` makes the schemas topic reader at the first request (cdc-api starts and serves its
  // other routes without Kafka); an empty `open` means the schemas are in an external registry.
  RegistryApi(Open open, const Clock& clock);
  ~RegistryApi();

  struct Answer {
    int status = 200;
    std::string body;
  };
  static constexpr const char* kContentType = "application/vnd.schemaregistry.v1+json";

  // One of the four routes, with its path parameters (raw, as matched).
  Answer Serve(RouteId route, const std::vector<std::string>& params);

 private:
  // The current reader (a new one when there is none, it is older than a minute, or `fresh` and
  // it is older than 5 s). Throws what opening one throws.
  std::shared_ptr<registry::TopicRegistry> Reader(bool fresh);
  Answer Route(RouteId route, const std::vector<std::string>& params, const std::string& subject);

  const Open open_;
  const Clock& clock_;
  std::mutex mutex_;
  std::shared_ptr<registry::TopicRegistry> reader_;
  Clock::TimePoint opened_at_{};
  Clock::TimePoint failing_until_{};
};

}  // namespace cdc::api
