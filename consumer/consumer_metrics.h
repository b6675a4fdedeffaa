// The consumer's Prometheus metrics, registered once by main() and updated by the consumer loop
// and its apply lanes (updates are lock-free).
#pragma once

#include "common/metrics/registry.h"

namespace cdc::consumer {

struct ConsumerMetrics {
  explicit ConsumerMetrics(metrics::Registry& registry);

  metrics::Family<metrics::Counter>& events_applied;        // {table, op}
  metrics::Family<metrics::Counter>& events_skipped;        // {table, reason}: stale, superseded
  metrics::Family<metrics::Counter>& rows_written;          // {table, kind}: upsert, delete
  metrics::Family<metrics::Histogram>& batch_size;          // events per batch
  metrics::Family<metrics::Histogram>& apply_duration;      // seconds per batch transaction
  metrics::Family<metrics::Histogram>& end_to_end_latency;  // now - source change time
  metrics::Family<metrics::Counter>& dead_letters;          // {class}
  metrics::Family<metrics::Counter>& incompatible_schemas;  // {table}
  metrics::Family<metrics::Counter>& retries;               // {code}
  metrics::Family<metrics::Gauge>& lag;                     // {topic, partition}
  metrics::Family<metrics::Counter>& missing_records;       // {topic}: offsets skipped over
  metrics::Family<metrics::Gauge>& last_apply_timestamp;    // seconds since the epoch
  metrics::Family<metrics::Gauge>& assigned_partitions;
  // {topic, reason}: beyond_log_end, before_log_start, log_replaced
  metrics::Family<metrics::Counter>& offset_resets;
  metrics::Family<metrics::Gauge>& stopped_partitions;  // stopped by on_offset_reset: stop
  metrics::Family<metrics::Counter>& schema_waits;      // batches held back by unknown schema ids
};

}  // namespace cdc::consumer
