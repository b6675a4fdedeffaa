// The consumer's main loop: a Kafka group member that polls records, gathers them per apply lane
// into batches (by count or time) and hands each batch to its lane (ApplyLane), which decodes and
// applies it in one PostgreSQL transaction while the loop gathers the next (and decodes it when it
// can wait behind the one in flight). Every partition belongs
// to one lane (consumer.apply_lanes of them), so per-partition order holds and lanes never write
// the same key. After a lane commits, the loop commits the same offsets to Kafka for lag tools. On
// assignment every partition starts at the offset stored in PostgreSQL (cdc.offsets), so a crash
// between the PostgreSQL commit and the Kafka commit re-applies nothing; on revocation the loop
// waits for the lanes to commit what they hold. Run() runs on the calling thread.
//
// The log's identity: a position is only good in the log it was taken from. On assignment (and
// after every broker was unreachable, when they may have come back without their data) the loop
// reads the record before each partition's position again and compares its fingerprint with the
// one stored with the position; a fetch outside the log's offset range comes back as an error
// (auto.offset.reset=error). A partition whose log no longer holds its position (beyond the
// log's end, before its start, or another record there) is never passed over: the loop logs an
// ERROR with both offsets, counts it (cdc_consumer_offset_resets_total), turns /ready false, and
// follows consumer.on_offset_reset: `stop` consuming that partition (the others go on), or
// `replay` it from the log's start - what it gathered from the old log is applied first, then the
// stored offset is set to the log's start (cdc.offsets, no replay counted), and /ready stays
// false until the partition has caught up with the log's end as seen at the reset.
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/event/decoder.h"
#include "common/kafka/consumer.h"
#include "common/log.h"
#include "common/metrics/status_server.h"
#include "common/pg/connection.h"
#include "consumer/apply_lane.h"
#include "consumer/consumer_metrics.h"
#include "consumer/dead_letters.h"
#include "consumer/group_lag.h"
#include "consumer/offsets.h"
#include "consumer/record_decoder.h"
#include "consumer/settings.h"

namespace cdc::consumer {

// The lane of a partition: stable for the life of the process, spreading one topic's partitions
// round-robin over the lanes.
size_t LaneOf(const std::string& topic, int32_t partition, size_t lanes);

class ConsumerLoop final : public kafka::RebalanceListener {
 public:
  // Every reference must outlive the loop. `progress` (optional) receives a progress line every
  // few seconds (replay), with the remaining lag over every partition of the group's topics
  // from `group_lag` (optional; else over the partitions this process holds).
  ConsumerLoop(const ConsumerSettings& settings, const kafka::KafkaSettings& kafka,
               event::EventDecoder& decoder, DeadLetterPublisher& dead_letters,
               ConsumerMetrics& metrics, Clock& clock, Logger logger,
               std::ostream* progress = nullptr, const GroupLag* group_lag = nullptr);
  ~ConsumerLoop() override;

  // Consumes until `stop`, then applies (or, when PostgreSQL is down, rolls back) what it has
  // gathered, commits and leaves the group. Throws FatalError (and config::ConfigError) when the
  // consumer cannot go on.
  void Run(std::stop_token stop);

  // Thread-safe: ready unless batches have failed for longer than consumer.unhealthy_after_ms.
  metrics::Readiness Readiness() const;
  // Thread-safe: how many partitions this member holds.
  size_t assigned() const { return assigned_count_.load(); }

  void OnAssign(std::vector<kafka::TopicPartition>& partitions) override;
  void OnRevoke(const std::vector<kafka::TopicPartition>& partitions) override;

 private:
  // A batch being gathered for one lane.
  struct Pending {
    Batch batch;
    std::optional<Clock::TimePoint> deadline;  // batch_max_ms after its first record
  };

  pg::Connection& Pg();
  void StartLanes();
  // Stops the lanes (a batch in flight is finished, or abandoned when failing) and joins them.
  void StopLanes();
  // Gives every idle lane its pending batch when it is full, due, or `flush` is set.
  void HandOver(bool flush);
  // True when a lane's pending batch is full while the lane is busy (stop polling until it frees).
  bool Backpressured() const;
  // Waits up to `timeout` for a lane to finish a batch.
  void WaitForLanes(std::chrono::milliseconds timeout);
  // Waits until no lane has a batch in flight (or the stop abandons them).
  void WaitUntilIdle();
  // Collects finished batches: positions, Kafka commits, progress; keeps a lane's failure in
  // failure_ for Run to rethrow (never throws: it also runs inside the rebalance callback).
  void Collect();
  // Adds a polled record to its lane's pending batch; reports offsets the topic no longer has.
  void Add(kafka::Message& message);
  // The log's identity (see the header comment).
  struct Check {
    int64_t offset = 0;  // the record to read again (never applied a second time)
    int64_t fingerprint = 0;
  };
  // A record that is not the one expected: `offset` came where `expected` should have.
  struct Trouble {
    std::string reason;    // log_replaced (the check record differs), jump
    int64_t expected = 0;  // the fetch position
    int64_t offset = 0;    // the record that came
  };
  // True when `record` may be applied: not the record read again for a check, nor a record of a
  // partition that is stopped, in trouble or just sought.
  bool Admit(const PartitionKey& partition, const Record& record);
  // Reads the log's offset range and resolves `trouble` (Resolve); when the broker cannot say,
  // keeps it in troubles_ (its partition's records are dropped) and returns false.
  bool Jump(const PartitionKey& partition, const Trouble& trouble);
  // A jump before the log's start (retention), a fetch reset to the log's start (beyond its end)
  // or a check record that differs is an offset reset; a gap inside the log (compaction) is
  // reported and admitted (true).
  bool Resolve(const PartitionKey& partition, const Trouble& trouble, int64_t low, int64_t high);
  // Retries the troubles the broker could not answer for.
  void ResolveTroubles();
  void OffsetReset(const PartitionKey& partition, const std::string& reason, int64_t fetch_offset,
                   int64_t low, int64_t high);
  // Moves the fetch position (records of the poll being added are stale: dropped); a partition
  // that cannot be sought is stopped.
  void SeekTo(const PartitionKey& partition, int64_t offset);
  void StopPartition(const PartitionKey& partition, const std::string& why);
  // After every broker was unreachable: applies what was taken, then reads the record before
  // each partition's position again to check it.
  void RecheckPositions();
  // Compares the positions with their logs' ranges as the last fetch responses report them (a
  // position beyond the end is an offset reset at once, record or not) and the stored
  // partitions of topic_checks_ with the topics' partitions; retries when the broker cannot say.
  void CheckRanges();
  // A stored partition that no longer exists: reported; `replay` forgets its offset.
  void PartitionGone(const PartitionKey& partition, int64_t stored, size_t partitions);
  // Applies every gathered record (hands over and waits until the lanes are idle).
  void Drain();
  void UpdateOffsetProblem();
  std::chrono::milliseconds PollTimeout() const;
  void UpdateLag(bool force);
  // Forgets remembered deletes older than consumer.tombstone_retention_hours (every 10 minutes).
  void PurgeTombstones();
  void Failing(const Error& error);
  // Runs `read` (stored offsets) until it succeeds, backing off while PostgreSQL fails; false
  // when the loop stops first.
  bool ReadStored(const std::function<void()>& read);

  const ConsumerSettings& settings_;
  const kafka::KafkaSettings& kafka_settings_;
  event::EventDecoder& decoder_;
  RecordDecoder ahead_decoder_;  // decodes batches that wait behind a lane's batch in flight
  DeadLetterPublisher& dead_letters_;
  ConsumerMetrics& metrics_;
  Clock& clock_;
  const Logger logger_;
  std::ostream* const progress_;
  const GroupLag* const group_lag_;
  std::unique_ptr<pg::Connection> pg_;  // the loop's own: stored offsets, tombstone purge
  std::unique_ptr<kafka::Consumer> consumer_;
  std::vector<kafka::TopicPartition> assigned_;
  std::atomic<size_t> assigned_count_{0};
  std::map<PartitionKey, LogPosition> positions_;  // next offset to apply per assigned partition
  std::map<PartitionKey, int64_t> expected_;       // next offset expected from the fetcher
  std::map<PartitionKey, Check> checks_;           // partitions whose next record is a check
  std::map<PartitionKey, Trouble> troubles_;
  std::map<PartitionKey, std::string> stopped_;  // on_offset_reset: stop; why
  std::map<PartitionKey, int64_t> replaying_;    // on_offset_reset: replay; until this offset
  std::set<PartitionKey> sought_;  // their other records in the poll being added are stale
  std::set<std::string> topic_checks_;
  std::map<PartitionKey, std::string> gone_;  // stored partitions that no longer exist; why
  // Replays after an offset reset that a previous run left unfinished (cdc.offsets.replay_until),
  // reported until the group's first assignment: then this member's own are in replaying_.
  std::map<PartitionKey, StoredPosition> unfinished_replays_;
  Clock::TimePoint next_range_check_{};
  Clock::TimePoint next_resolve_{};  // troubles wait for the broker until then
  uint64_t outages_seen_ = 0;
  std::stop_token stop_;
  Clock::TimePoint last_lag_update_{};
  Clock::TimePoint last_progress_{};
  std::optional<Clock::TimePoint> last_purge_;
  int64_t applied_since_progress_ = 0;
  int64_t total_lag_ = 0;

  LaneSignal signal_;             // a lane finished a batch
  std::stop_source lanes_stop_;   // Run's stop, or a failure: lanes abandon failing batches
  std::vector<Pending> pending_;  // by lane
  std::vector<std::unique_ptr<ApplyLane>> lanes_;  // created by Run, destroyed when it ends
  mutable std::mutex lanes_mutex_;                 // guards lanes_ against Readiness()
  std::exception_ptr failure_;                     // a lane's fatal error, rethrown by Run

  std::atomic<int64_t> failing_since_ns_{0};  // the loop's own failures (stored offsets)
  mutable std::mutex error_mutex_;
  std::string last_error_;
  // Partitions stopped or re-applying their log; until Run read the stored offsets, that.
  std::string offset_problem_ = "reading the stored offsets";
};

}  // namespace cdc::consumer
