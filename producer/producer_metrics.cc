#include "producer/producer_metrics.h"

namespace cdc::producer {

ProducerMetrics::ProducerMetrics(metrics::Registry& registry)
    : rows_polled(registry.AddCounter("cdc_producer_rows_polled_total", "Change-table rows read",
                                      {"table"})),
      events_published(registry.AddCounter("cdc_producer_events_published_total",
                                           "Messages confirmed delivered by Kafka", {"table"})),
      delivery_errors(registry.AddCounter("cdc_producer_delivery_errors_total",
                                          "Messages whose delivery failed", {"table"})),
      poison_rows(registry.AddCounter(
          "cdc_producer_poison_rows_total",
          "Rows that could not be decoded (sent to the dead-letter topic)", {"table"})),
      poll_duration(registry.AddHistogram("cdc_producer_poll_duration_seconds",
                                          "Time to read and publish one batch", {"table"})),
      publish_latency(registry.AddHistogram("cdc_producer_publish_latency_seconds",
                                            "From enqueue to confirmed delivery of a batch",
                                            {"table"})),
      gaps_pending(registry.AddGauge("cdc_producer_gaps_pending",
                                     "Sequence gaps waited for (uncommitted or rolled back)",
                                     {"table"})),
      gaps_expired(registry.AddCounter(
          "cdc_producer_gaps_expired_total",
          "Sequence gaps given up, by cause: transactions_ended (every transaction that could fill"
          " them had ended: safe) or timeout (producer.gap_timeout_ms passed where the source"
          " cannot report open transactions: a later commit would be lost)",
          {"table", "cause"})),
      oldest_gap_seconds(registry.AddGauge(
          "cdc_producer_oldest_gap_seconds",
          "Age of the oldest pending sequence gap (0 without gaps): grows while a transaction"
          " that started before it stays open",
          {"table"})),
      lag_seconds(registry.AddGauge("cdc_producer_lag_seconds",
                                    "Now minus CDC_TS of the oldest unpublished change",
                                    {"table"})),
      watermark(registry.AddGauge("cdc_producer_checkpoint_watermark",
                                  "Confirmed low watermark (CDC_SEQ)", {"table"})),
      in_flight(
          registry.AddGauge("cdc_producer_in_flight", "Messages awaiting delivery", {"table"})),
      snapshot_rows(registry.AddCounter("cdc_producer_snapshot_rows_total",
                                        "Rows published by snapshots", {"table"})),
      snapshot_running(registry.AddGauge("cdc_producer_snapshot_running",
                                         "1 while the table is being snapshotted", {"table"})),
      snapshot_superseded(registry.AddCounter(
          "cdc_producer_snapshot_rows_superseded_total",
          "Snapshot rows not published because the stream published a change of their key after"
          " the row was read (that change is as new as the row or newer)",
          {"table"})),
      gap_timeout_fallback(registry.AddGauge(
          "cdc_producer_gap_timeout_fallback",
          "1 while the source user may not read the transaction horizon, so sequence gaps are"
          " given up after producer.gap_timeout_ms (a transaction open longer loses its rows)",
          {"table"})),
      table_errors(registry.AddCounter("cdc_producer_table_errors_total",
                                       "Errors while polling a table, by retry class",
                                       {"table", "class"})),
      purged_rows(registry.AddCounter("cdc_producer_purged_rows_total",
                                      "Change-table rows deleted after confirmed delivery",
                                      {"table"})) {}

}  // namespace cdc::producer
