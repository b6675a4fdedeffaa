// The API's Prometheus metrics (GET /metrics), registered in one place so dashboards and alerts
// can be checked against them.
#pragma once

#include "common/metrics/registry.h"

namespace cdc::api {

struct ApiMetrics {
  explicit ApiMetrics(metrics::Registry& registry);

  metrics::Family<metrics::Counter>& requests;    // {route, status}
  metrics::Family<metrics::Histogram>& duration;  // {route}
  metrics::Family<metrics::Gauge>& pool_in_use;
  metrics::Family<metrics::Gauge>& pool_size;
  metrics::Family<metrics::Gauge>& pool_waits;
  metrics::Family<metrics::Gauge>& key_lookup_statements;
  metrics::Family<metrics::Gauge>& key_lookup_keys;
};

}  // namespace cdc::api
