// One apply lane: a thread with its own PostgreSQL connection that decodes and applies the batches
// the consumer loop hands it, one at a time and in the order handed, each in one transaction
// (BatchApplier), retrying transient failures forever with jittered backoff. The loop gives every
// partition to exactly one lane, so a partition's records are applied in order and two lanes never
// write the same key; lanes run in parallel with each other and with the loop's polling of the
// next batch. One more batch may wait behind the one being applied, decoded by the loop in the
// meantime, so the lane goes from one transaction to the next without decoding in between.
// Thread-safety: Submit/Idle/Accepting/TakeDone/TakeFailure/Readiness may be called from any
// thread; the lane's own work happens on its thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/event/decoder.h"
#include "common/log.h"
#include "common/metrics/status_server.h"
#include "common/pg/connection.h"
#include "consumer/applier.h"
#include "consumer/batch.h"
#include "consumer/consumer_metrics.h"
#include "consumer/dead_letters.h"
#include "consumer/offsets.h"
#include "consumer/record_decoder.h"
#include "consumer/settings.h"
#include "consumer/target_catalog.h"

namespace cdc::consumer {

// Wakes the consumer loop when a lane finishes a batch (or fails). Read generation() before
// looking at the lanes, then WaitFor(that generation): a finish in between is never missed.
class LaneSignal {
 public:
  void Notify();
  uint64_t generation() const;
  // Waits until the generation is no longer `seen`, at most `timeout`.
  void WaitFor(uint64_t seen, std::chrono::milliseconds timeout);

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
};

// What a lane reports after committing a batch.
struct LaneDone {
  std::map<PartitionKey, LogPosition> positions;  // committed in PostgreSQL
  int64_t records = 0;
  Batch spent;  // the batch itself, freed by the taker (off the lane's path to its next batch)
};

class ApplyLane {
 public:
  // Every reference must outlive the lane. `signal` is notified whenever the lane finishes a
  // batch or fails, so a waiting loop can look at Idle/TakeDone/TakeFailure. `stop` is the
  // consumer's stop: a batch that is failing transiently is abandoned (rolled back) once it is
  // requested; a batch that can be applied is still applied.
  ApplyLane(int id, const ConsumerSettings& settings, event::EventDecoder& decoder,
            DeadLetterPublisher& dead_letters, ConsumerMetrics& metrics, Clock& clock,
            Logger logger, LaneSignal& signal, std::stop_token stop);
  // Waits for the batch in flight (see `stop` above), then joins the thread.
  ~ApplyLane();
  ApplyLane(const ApplyLane&) = delete;
  ApplyLane& operator=(const ApplyLane&) = delete;

  // True when no batch is in flight or waiting.
  bool Idle() const;
  // True when the lane takes another batch: none waits behind the one in flight (if any).
  bool Accepting() const;
  // Hands `batch` to the lane (records; decoded or not, see Batch::decoded). Requires
  // Accepting(). Batches are applied in the order handed; none after one that was abandoned or
  // failed (see closed_).
  void Submit(Batch batch);
  // Batches committed since the last call, oldest first.
  std::vector<LaneDone> TakeDone();
  // The error that stopped the lane (not transient; the consumer must stop), if any.
  std::exception_ptr TakeFailure();
  // Ready unless its batches have failed for longer than consumer.unhealthy_after_ms.
  metrics::Readiness Readiness() const;
  int id() const { return id_; }

 private:
  void Loop(std::stop_token shutdown);
  // Decodes and applies `batch` until it commits; false when abandoned because of `stop_`.
  bool Apply(Batch& batch);
  void RecordMetrics(const Batch& batch, const ApplyOutcome& outcome, double seconds);
  void Failing(const Error& error);

  const int id_;
  const ConsumerSettings& settings_;
  ConsumerMetrics& metrics_;
  Clock& clock_;
  const Logger logger_;
  LaneSignal& signal_;
  const std::stop_token stop_;
  RecordDecoder decoder_;
  TargetCatalog catalog_;
  BatchApplier applier_;
  std::unique_ptr<pg::Connection> pg_;  // lane thread only

  mutable std::mutex mutex_;
  std::condition_variable_any work_;
  std::deque<Batch> batches_;  // front: in flight; then at most one waiting (kDepth in all)
  // A batch was abandoned (stopping) or failed: no batch behind it may be applied, or cdc.offsets
  // would move past records that were not. The lane takes nothing more (Submit drops it; those
  // records are read again from the stored offsets next time) and its thread ends.
  bool closed_ = false;
  std::vector<LaneDone> done_;
  std::exception_ptr failure_;
  int64_t failing_since_ns_ = 0;  // clock ns of the first failure in a row; 0 = healthy
  std::string last_error_;

  std::jthread thread_;  // last: started after every member above exists
};

}  // namespace cdc::consumer
