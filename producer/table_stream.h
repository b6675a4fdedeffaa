// One table's worker: snapshot when needed, then gap-safe streaming of its change table into its
// topic, with checkpoint candidates recorded in the table's ledger after every batch. Runs on its
// own thread with its own ODBC connection, so a slow or failing table never stalls the others.
//
// Errors: a TransientError (connection lost, lock timeout, Kafka queue full) disconnects, backs
// off and retries; a PermanentError that is not about one row (change table missing, bad key)
// marks the table unhealthy and retries with a long backoff; a FatalError ends Run().
// A failed delivery rewinds the table to its confirmed position once nothing is in flight.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "common/clock.h"
#include "common/event/messages.h"
#include "common/log.h"
#include "common/registry/schema_registry.h"
#include "producer/change_source.h"
#include "producer/gap_tracker.h"
#include "producer/producer_metrics.h"
#include "producer/publisher.h"

namespace cdc::producer {

struct StreamOptions {
  std::string pipeline;
  std::string topic_prefix;
  std::string dead_letter_topic;
  event::MessageOptions messages;
  size_t batch_size = 5000;
  std::chrono::milliseconds poll_interval{200};
  std::chrono::milliseconds gap_timeout{30'000};
  bool snapshot_initial = true;
  bool purge = false;
  std::chrono::milliseconds purge_interval{60'000};
  size_t max_in_flight = 200'000;  // messages; polling pauses above this
  bool progress_to_stderr = true;
};

enum class StreamMode {
  kStream,    // snapshot when the position says so, then stream until stopped
  kBackfill,  // re-snapshot the table from scratch into its topic, then return
};

struct TableHealth {
  bool ok = true;
  bool streaming = false;
  std::string error;  // the last error while !ok
};

class TableStream {
 public:
  // Every reference must outlive the stream. `table_index` is the table's index in `publisher`.
  TableStream(std::string name, std::string topic, const StreamOptions& options,
              ChangeSource& source, Publisher& publisher, size_t table_index,
              registry::SchemaRegistry& registry, ProducerMetrics& metrics, Clock& clock,
              Logger logger);

  // Runs until `stop` is requested (kStream) or the backfill is published (kBackfill).
  // Throws FatalError.
  void Run(std::stop_token stop, StreamMode mode);
  TableHealth health() const;
  const std::string& name() const { return name_; }

  // Sequence numbers scanned below the change table's maximum when choosing a snapshot's
  // hand-off point: the first one missing there (a transaction still open) bounds it.
  static constexpr int64_t kHandoffWindow = 10'000;

 private:
  void Restart(const TablePosition& position);
  void EnsureSchemas();
  // One snapshot chunk; returns true when the snapshot is complete.
  bool SnapshotStep(StreamMode mode);
  int64_t ChooseHandoff();
  // One poll of the change table; returns true when the batch came back full.
  bool PollOnce();
  // Builds the messages of `batch`'s records (their rows are moved out).
  void Publish(ChangeBatch& batch, std::vector<event::Message>& out, int64_t* oldest_ts);
  event::Message DeadLetter(const PoisonRecord& poison) const;
  void MaybePurge();
  void ReportProgress(bool final);
  void SetHealth(bool ok, bool streaming, std::string error);

  const std::string name_;
  const std::string topic_;
  const StreamOptions& options_;
  ChangeSource& source_;
  Publisher& publisher_;
  TableLedger& ledger_;
  const size_t table_index_;
  registry::SchemaRegistry& registry_;
  Clock& clock_;
  const Logger logger_;

  metrics::Counter& rows_polled_;
  metrics::Counter& poison_rows_;
  metrics::Histogram& poll_duration_;
  metrics::Gauge& gaps_pending_;
  metrics::Counter& gaps_closed_;     // cause="transactions_ended"
  metrics::Counter& gaps_timed_out_;  // cause="timeout"
  metrics::Gauge& oldest_gap_seconds_;
  metrics::Gauge& lag_seconds_;
  metrics::Gauge& watermark_;
  metrics::Gauge& in_flight_;
  metrics::Counter& snapshot_rows_;
  metrics::Gauge& snapshot_running_;
  ProducerMetrics& metrics_;

  // Worker state (the worker thread only).
  TablePosition position_;
  std::optional<GapTracker> tracker_;
  uint64_t schema_version_ = 0;
  event::SchemaIds ids_;
  Clock::TimePoint last_purge_{};
  int64_t purged_through_ = 0;
  Clock::TimePoint snapshot_started_{};
  Clock::TimePoint last_progress_{};
  int64_t snapshot_rows_this_run_ = 0;

  mutable std::mutex health_mutex_;
  TableHealth health_;
};

}  // namespace cdc::producer
