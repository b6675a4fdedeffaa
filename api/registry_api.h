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
// the schemas are there and these routes answer 404 saying so. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/router.h"
#include "common/registry/topic_registry.h"

namespace cdc::api {

class RegistryApi {
 public:
  using Open = std::function<std::unique_ptr<registry::TopicRegistry>()>;
  // `open` makes the schemas topic reader at the first request (cdc-api starts and serves its
  // other routes without Kafka); an empty `open` means the schemas are in an external registry.
  explicit RegistryApi(Open open);
  ~RegistryApi();

  struct Answer {
    int status = 200;
    std::string body;
  };
  static constexpr const char* kContentType = "application/vnd.schemaregistry.v1+json";

  // One of the four routes, with its path parameters (raw, as matched).
  Answer Serve(RouteId route, const std::vector<std::string>& params);

 private:
  registry::TopicRegistry& Reader();

  const Open open_;
  std::mutex mutex_;
  std::unique_ptr<registry::TopicRegistry> reader_;
};

}  // namespace cdc::api
