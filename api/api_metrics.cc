#include "api/api_metrics.h"

namespace cdc::api {

ApiMetrics::ApiMetrics(metrics::Registry& registry)
    : requests(registry.AddCounter("cdc_api_requests_total", "HTTP requests by route and status",
                                   {"route", "status"})),
      duration(registry.AddHistogram("cdc_api_request_duration_seconds",
                                     "Time to answer a request, by route", {"route"})),
      pool_in_use(
          registry.AddGauge("cdc_api_pool_in_use", "PostgreSQL connections on loan to requests")),
      pool_size(registry.AddGauge("cdc_api_pool_size", "api.pool_size")),
      pool_waits(registry.AddGauge("cdc_api_pool_waits",
                                   "Requests that waited for a free connection, since start")),
      key_lookup_statements(registry.AddGauge("cdc_api_key_lookup_statements",
                                              "Statements that answered GET /rows/{key} requests, "
                                              "since start (concurrent ones share)")),
      key_lookup_keys(registry.AddGauge(
          "cdc_api_key_lookup_keys",
          "Keys looked up by those statements, since start (keys / statements = batch size)")) {}

}  // namespace cdc::api
