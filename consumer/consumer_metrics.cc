#include "consumer/consumer_metrics.h"

namespace cdc::consumer {

ConsumerMetrics::ConsumerMetrics(metrics::Registry& registry)
    : events_applied(registry.AddCounter("cdc_consumer_events_applied_total",
                                         "Change events applied, by target table and op",
                                         {"table", "op"})),
      events_skipped(registry.AddCounter(
          "cdc_consumer_events_skipped_total",
          "Events with no effect: stale (the row is newer) or superseded within a batch",
          {"table", "reason"})),
      rows_written(registry.AddCounter("cdc_consumer_rows_written_total",
                                       "Rows upserted or deleted in target tables",
                                       {"table", "kind"})),
      batch_size(registry.AddHistogram("cdc_consumer_batch_size", "Records per applied batch", {},
                                       {1, 10, 100, 500, 1000, 2500, 5000, 10000, 50000})),
      apply_duration(registry.AddHistogram("cdc_consumer_apply_duration_seconds",
                                           "Time to apply one batch (one transaction)")),
      end_to_end_latency(registry.AddHistogram(
          "cdc_consumer_end_to_end_latency_seconds",
          "From the source change time to the commit of its batch in PostgreSQL")),
      dead_letters(registry.AddCounter("cdc_consumer_dead_letters_total",
                                       "Records dead-lettered, by error class", {"class"})),
      incompatible_schemas(registry.AddCounter(
          "cdc_consumer_incompatible_schema_total",
          "Events whose schema change cannot be applied to the target table", {"table"})),
      retries(registry.AddCounter("cdc_consumer_retries_total",
                                  "Batches rolled back and retried after a transient error",
                                  {"code"})),
      lag(registry.AddGauge("cdc_consumer_lag", "Messages behind the partition's end",
                            {"topic", "partition"})),
      missing_records(registry.AddCounter(
          "cdc_consumer_missing_records_total",
          "Offsets skipped between consecutive records of a partition: deleted by retention before "
          "they were applied (data loss), or compacted away",
          {"topic"})),
      last_apply_timestamp(registry.AddGauge("cdc_consumer_last_apply_timestamp_seconds",
                                             "Wall time of the last committed batch")),
      assigned_partitions(registry.AddGauge("cdc_consumer_assigned_partitions",
                                            "Partitions assigned to this member")),
      offset_resets(registry.AddCounter(
          "cdc_consumer_offset_resets_total",
          "Partitions whose log no longer held the stored position (topic re-created or "
          "truncated, broker data lost, retention ahead of the consumer)",
          {"topic", "reason"})),
      stopped_partitions(registry.AddGauge(
          "cdc_consumer_stopped_partitions",
          "Partitions not consumed because their log no longer holds the stored position "
          "(consumer.on_offset_reset: stop)")),
      schema_waits(registry.AddCounter(
          "cdc_consumer_unknown_schema_waits_total",
          "Batches held back because an event's schema id was not (yet) in the registry")) {}

}  // namespace cdc::consumer
