// TableStream's snapshots: the initial one and backfills, read in chunks between polls and
// published in step with the stream (see snapshot_chunk.h).
#include <algorithm>
#include <cstdio>

#include "common/error.h"
#include "producer/table_stream.h"

namespace cdc::producer {
namespace {

using std::chrono::duration;

constexpr auto kProgressEvery = std::chrono::seconds(2);

}  // namespace

int64_t TableStream::RequestBackfill() {
  std::lock_guard lock(status_mutex_);
  if (status_.state == SnapshotPosition::State::kRunning) return status_.id;
  if (!backfill_requested_) backfill_requested_ = std::max(WallMicros(clock_), status_.id + 1);
  return *backfill_requested_;
}

SnapshotStatus TableStream::snapshot_status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

void TableStream::PublishStatus() {
  std::lock_guard lock(status_mutex_);
  const SnapshotPosition& snapshot = position_.snapshot;
  status_ = {snapshot.state, snapshot.id, snapshot.backfill, snapshot.rows};
}

void TableStream::BeginSnapshot(bool backfill, int64_t id) {
  position_.snapshot =
      SnapshotPosition{SnapshotPosition::State::kRunning, id, backfill, std::nullopt, 0};
  chunk_.reset();
  snapshot_rows_this_run_ = 0;
  snapshot_running_.Set(1);
  PublishStatus();
  logger_.Info(backfill ? "backfill snapshot started" : "snapshot started",
               {{"table", name_}, {"snapshot_id", id}});
}

bool TableStream::SnapshotStep() {
  if (position_.snapshot.state != SnapshotPosition::State::kRunning) return false;
  if (snapshot_rows_this_run_ == 0 && !chunk_) {
    snapshot_started_ = clock_.Now();
    last_progress_ = snapshot_started_;
  }
  if (!chunk_) {
    if (ledger_.InFlight() >= options_.max_in_flight) return false;
    ReadChunk();
  }
  if (!chunk_->Ready(tracker_->watermark())) {
    // Changes up to the chunk's position are still to be published: at once when the stream has
    // not read that far yet, after the poll interval when a gap below it is waited for.
    return tracker_->high() < chunk_->position();
  }
  std::vector<event::Message> messages = chunk_->TakeMessages();
  snapshot_superseded_.Inc(static_cast<double>(chunk_->superseded()));
  publisher_.Publish(table_index_, topic_, std::move(messages));
  SnapshotPosition& snapshot = position_.snapshot;
  if (chunk_->last_key()) snapshot.after_key = chunk_->last_key();
  snapshot.rows += static_cast<int64_t>(chunk_->read());
  snapshot_rows_this_run_ += static_cast<int64_t>(chunk_->read());
  snapshot_rows_.Inc(static_cast<double>(chunk_->read()));
  const bool done = chunk_->read() < options_.batch_size;
  chunk_.reset();
  if (done) {
    snapshot.state = SnapshotPosition::State::kDone;
    snapshot_running_.Set(0);
  }
  RecordCandidate();
  PublishStatus();
  ReportProgress(done);
  if (done) snapshot_rows_this_run_ = 0;
  return !done;
}

void TableStream::ReadChunk() {
  SnapshotChunk rows = source_.ReadSnapshot(position_.snapshot.after_key, options_.batch_size);
  // Read after the rows: at least every change number the rows' images contain. Not below what
  // the stream has published either (a purged change table can be empty).
  const int64_t position = std::max(source_.MaxSeq().value_or(0), tracker_->high());
  EnsureSchemas();
  const event::TableMeta& table = event_table_;
  chunk_.emplace(position, std::move(rows.last_key), rows.read);
  std::vector<event::Message> dead_letters;
  const int64_t now_micros = WallMicros(clock_);
  for (event::Row& row : rows.rows) {
    event::ChangeEvent event;
    event.op = event::Op::kRead;
    event.after = std::move(row);
    event.key = event::KeyFromImage(table, event);
    event.source = {options_.pipeline, table.db,   table.schema, table.table,
                    position,          now_micros, std::nullopt, true};
    event.ts_ms = now_micros / 1000;
    PoisonRecord poison;
    poison.seq = position;
    try {
      AllowNulls(event);
      if (auto messages = Encode(table, event, &poison)) {
        chunk_->Add(KeyIdentity(event.key), std::move(*messages));
        continue;
      }
    } catch (const PermanentError& e) {
      poison.error = e.what();
    }
    dead_letters.push_back(DeadLetter(poison));
  }
  for (PoisonRecord& poison : rows.poison) {
    poison.seq = position;
    dead_letters.push_back(DeadLetter(poison));
  }
  poison_rows_.Inc(static_cast<double>(dead_letters.size()));
  publisher_.Publish(table_index_, options_.dead_letter_topic, std::move(dead_letters));
}

void TableStream::ReportProgress(bool final) {
  const Clock::TimePoint now = clock_.Now();
  if (!final && now - last_progress_ < kProgressEvery) return;
  last_progress_ = now;
  const double elapsed = duration<double>(now - snapshot_started_).count();
  const double rate = elapsed > 0 ? static_cast<double>(snapshot_rows_this_run_) / elapsed : 0.0;
  if (options_.progress_to_stderr) {
    std::fprintf(stderr, "snapshot %s: %lld rows, %.0f rows/s, %.1f s elapsed%s\n", name_.c_str(),
                 static_cast<long long>(position_.snapshot.rows), rate, elapsed,
                 final ? " (done)" : "");
  }
  logger_.Info(final ? "snapshot done" : "snapshot progress",
               {{"table", name_},
                {"rows", position_.snapshot.rows},
                {"rows_per_s", rate},
                {"elapsed_s", elapsed},
                {"backfill", position_.snapshot.backfill}});
}

}  // namespace cdc::producer
