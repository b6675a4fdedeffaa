// The producer's Prometheus metrics, registered once by main() and shared by the table workers
// and the publisher. Every family is labelled by table (schema.table).
#pragma once

#include "common/metrics/registry.h"

namespace cdc::producer {

struct ProducerMetrics {
  explicit ProducerMetrics(metrics::Registry& registry);

  metrics::Family<metrics::Counter>& rows_polled;
  metrics::Family<metrics::Counter>& events_published;
  metrics::Family<metrics::Counter>& delivery_errors;
  metrics::Family<metrics::Counter>& poison_rows;
  metrics::Family<metrics::Histogram>& poll_duration;
  metrics::Family<metrics::Histogram>& publish_latency;
  metrics::Family<metrics::Gauge>& gaps_pending;
  metrics::Family<metrics::Counter>& gaps_expired;
  metrics::Family<metrics::Gauge>& oldest_gap_seconds;
  metrics::Family<metrics::Gauge>& lag_seconds;
  metrics::Family<metrics::Gauge>& watermark;
  metrics::Family<metrics::Gauge>& in_flight;
  metrics::Family<metrics::Counter>& snapshot_rows;
  metrics::Family<metrics::Gauge>& snapshot_running;
  metrics::Family<metrics::Counter>& snapshot_superseded;
  metrics::Family<metrics::Gauge>& gap_timeout_fallback;
  metrics::Family<metrics::Counter>& table_errors;
  metrics::Family<metrics::Counter>& purged_rows;
};

}  // namespace cdc::producer
