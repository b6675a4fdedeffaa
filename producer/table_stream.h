// One table's worker: gap-safe streaming of its change table into its topic, with snapshots (the
// initial one and requested backfills) read in chunks between polls and published in step with
// the stream (see snapshot_chunk.h), and checkpoint candidates recorded in the table's ledger
// after every batch. Runs on its own thread with its own ODBC connection, so a slow or failing
// table never stalls the others.
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
#include "producer/snapshot_chunk.h"

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
  // Columns added to a table (after ddl --apply) start a backfill, so that the rows that existed
  // before carry their values (a default) in every subscriber and the replica.
  bool backfill_new_columns = true;
  bool purge = false;
  std::chrono::milliseconds purge_interval{60'000};
  size_t max_in_flight = 200'000;  // messages; polling pauses above this
  // librdkafka's message.max.bytes (kafka.properties): a larger event is dead-lettered, since
  // it would fail every delivery and stall its table.
  size_t max_message_bytes = 1'000'000;
  bool progress_to_stderr = true;
};

struct TableHealth {
  bool ok = true;
  bool streaming = false;
  std::string error;    // the last error while !ok
  std::string warning;  // set while gaps are given up on the timeout (the horizon is not readable)
};

// A table's snapshot, as `cdc-producer snapshot` follows it.
struct SnapshotStatus {
  SnapshotPosition::State state = SnapshotPosition::State::kNone;
  int64_t id = 0;  // the running snapshot's, or the last finished one's
  bool backfill = false;
  int64_t rows = 0;
};

class TableStream {
 public:
  // Every reference must outlive the stream. `table_index` is the table's index in `publisher`.
  TableStream(std::string name, std::string topic, const StreamOptions& options,
              ChangeSource& source, Publisher& publisher, size_t table_index,
              registry::SchemaRegistry& registry, ProducerMetrics& metrics, Clock& clock,
              Logger logger);

  // Streams (snapshotting where the position says so) until `stop` is requested. Throws
  // FatalError.
  void Run(std::stop_token stop);
  TableHealth health() const;
  const std::string& name() const { return name_; }

  // Asks for a backfill: the worker starts one at its next round unless a snapshot is running
  // already. Returns the id of the snapshot that answers the request: it is done once
  // snapshot_status() shows state kDone with an id >= this one. Thread-safe.
  int64_t RequestBackfill();
  SnapshotStatus snapshot_status() const;

  // At most this many pending gaps are kept in a checkpoint; with more, a restart reads
  // everything above the watermark again.
  static constexpr size_t kMaxCheckpointGaps = 1000;
  // How often a table on the gap-timeout fallback asks for the horizon again.
  static constexpr std::chrono::seconds kHorizonRetry{60};

 private:
  void Restart(const TablePosition& position);
  void StartTracking();
  void EnsureSchemas();
  // Compares the table's columns with the ones it was published with (TablePosition::columns);
  // when they changed, records the new ones and, with backfill_new_columns, starts a backfill.
  void CheckColumns();
  void BeginSnapshot(bool backfill, int64_t id);
  // Reads or publishes one snapshot chunk; returns true when another round right away makes
  // progress.
  bool SnapshotStep();
  void ReadChunk();
  // One poll of the change table; returns true when it left rows for the next poll at once.
  bool PollOnce();
  // The horizon read after a poll's read of `batch` above `high` (nullopt when none is needed
  // or readable).
  std::optional<TxHorizon> HorizonAfterRead(const ChangeBatch& batch, int64_t high);
  void EnterFallback(bool on);
  // Builds the messages of `batch`'s records up to `through` (their rows are moved out).
  void Publish(ChangeBatch& batch, int64_t through, std::vector<event::Message>& out,
               int64_t* oldest_ts);
  void LogExpiredGaps(const std::vector<SeqRange>& expired, bool by_timeout);
  event::Message DeadLetter(const PoisonRecord& poison) const;
  // A NULL in a field published non-null (a change recorded before the source declared the
  // column NOT NULL, or after it dropped the constraint unnoticed): gives those fields up for
  // good (TablePosition::not_null) and registers the schemas again, so the event is published,
  // not poison.
  void AllowNulls(const event::ChangeEvent& event);
  // event::BuildMessages, or nullopt when a message would be over max_message_bytes: `poison`
  // then says so, with the sizes and the key.
  std::optional<std::vector<event::Message>> Encode(const event::TableMeta& table,
                                                    const event::ChangeEvent& event,
                                                    PoisonRecord* poison) const;
  void MaybePurge();
  void ReportProgress(bool final);
  void SetHealth(bool ok, bool streaming, std::string error);
  void PublishStatus();
  void RecordCandidate();

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
  metrics::Counter& snapshot_superseded_;
  metrics::Gauge& snapshot_running_;
  metrics::Gauge& gap_timeout_fallback_;
  ProducerMetrics& metrics_;

  // Worker state (the worker thread only).
  TablePosition position_;
  std::optional<GapTracker> tracker_;
  std::optional<HeldChunk> chunk_;
  bool fallback_ = false;  // the horizon may not be read: gaps are given up on the timeout
  Clock::TimePoint horizon_retry_at_{};
  static constexpr int kCatchUpPolls = 50;
  int catch_up_polls_ = 0;  // polls in a row that left gaps unread
  uint64_t schema_version_ = 0;
  uint64_t columns_version_ = 0;  // the metadata version columns_ was computed for
  std::string columns_;           // its ColumnsFingerprint
  event::SchemaIds ids_;
  // The source's metadata as events are encoded: a field is non-null only while the source
  // declares its column NOT NULL and TablePosition::not_null still holds it. Set by EnsureSchemas.
  event::TableMeta event_table_;
  Clock::TimePoint last_purge_{};
  int64_t purged_through_ = 0;
  bool purge_started_ = false;  // purged_through_ was moved to the change table's lowest seq
  Clock::TimePoint snapshot_started_{};
  Clock::TimePoint last_progress_{};
  int64_t snapshot_rows_this_run_ = 0;

  mutable std::mutex status_mutex_;
  TableHealth health_{false, false, "starting", ""};  // ready after the first round
  SnapshotStatus status_;
  std::optional<int64_t> backfill_requested_;  // id of a backfill not started yet
};

}  // namespace cdc::producer
