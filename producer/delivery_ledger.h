// Which checkpoint is safe to write for one table. Every message the table enqueues gets the next
// ordinal; after a batch the table records a checkpoint candidate (its position at that moment).
// A candidate becomes confirmed once every message up to its ordinal has a successful delivery
// report, so a checkpoint never passes a change whose delivery is not a success.
// Thread-safe: the table worker enqueues, the delivery callback confirms, the checkpoint writer
// reads.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"

namespace cdc::producer {

template <typename Position>
class DeliveryLedger {
 public:
  explicit DeliveryLedger(Position initial) : confirmed_(std::move(initial)) {}

  // Reserves `count` consecutive ordinals for messages about to be produced; returns the first.
  uint64_t Reserve(size_t count) {
    std::lock_guard lock(mutex_);
    const uint64_t first = next_;
    window_.insert(window_.end(), count, uint8_t{1});
    next_ += count;
    in_flight_ += count;
    return first;
  }
  // Gives back a reservation whose messages were not produced (enqueue failed).
  void Release(uint64_t ordinal) {
    std::lock_guard lock(mutex_);
    Settled(ordinal);
    Settle({});
  }
  // `position` is where the table stands once every message reserved so far is delivered;
  // `now` is when its last message was enqueued.
  void AddCandidate(Position position, Clock::TimePoint now = {}) {
    std::lock_guard lock(mutex_);
    candidates_.push_back({next_, std::move(position), now});
    Settle(now);
  }
  // Returns how long the oldest candidate this delivery confirmed waited (for the
  // publish-latency metric), or nullopt when it confirmed none.
  std::optional<Clock::Duration> Delivered(uint64_t ordinal, Clock::TimePoint now = {}) {
    std::lock_guard lock(mutex_);
    Settled(ordinal);
    return Settle(now);
  }
  // A failed delivery: no candidate at or after `ordinal` is ever confirmed.
  void Failed(uint64_t ordinal, std::string error) {
    std::lock_guard lock(mutex_);
    Settled(ordinal);
    if (!failed_ || ordinal < *failed_) {
      failed_ = ordinal;
      failure_ = std::move(error);
    }
    Settle({});
  }

  Position Confirmed() const {
    std::lock_guard lock(mutex_);
    return confirmed_;
  }
  size_t InFlight() const {
    std::lock_guard lock(mutex_);
    return in_flight_;
  }
  // The first failure since the last Reset, if any.
  std::optional<std::string> Failure() const {
    std::lock_guard lock(mutex_);
    if (!failed_) return std::nullopt;
    return failure_;
  }
  // After a failure, once nothing is in flight: forget everything but the confirmed position.
  void Reset() {
    std::lock_guard lock(mutex_);
    window_.clear();
    base_ = next_;
    in_flight_ = 0;
    candidates_.clear();
    failed_.reset();
    failure_.clear();
  }

 private:
  struct Candidate {
    uint64_t end;  // confirmed once every ordinal < end is delivered
    Position position;
    Clock::TimePoint enqueued;
  };
  // Marks `ordinal` as no longer in flight and drops the settled prefix of the window.
  void Settled(uint64_t ordinal) {
    if (ordinal < base_ || ordinal >= next_) return;
    uint8_t& flag = window_[ordinal - base_];
    if (flag == 0) return;
    flag = 0;
    --in_flight_;
    while (!window_.empty() && window_.front() == 0) {
      window_.pop_front();
      ++base_;
    }
  }
  std::optional<Clock::Duration> Settle(Clock::TimePoint now) {
    const uint64_t lowest = base_;  // the lowest ordinal still in flight, or next_
    const uint64_t limit = failed_ ? std::min(lowest, *failed_) : lowest;
    std::optional<Clock::Duration> waited;
    while (!candidates_.empty() && candidates_.front().end <= limit) {
      if (!waited) waited = now - candidates_.front().enqueued;
      confirmed_ = std::move(candidates_.front().position);
      candidates_.pop_front();
    }
    return waited;
  }

  mutable std::mutex mutex_;
  uint64_t next_ = 1;
  // In-flight flags of ordinals base_ .. next_-1 (1 = in flight); its front is always in flight.
  std::deque<uint8_t> window_;
  uint64_t base_ = 1;
  size_t in_flight_ = 0;
  std::deque<Candidate> candidates_;
  std::optional<uint64_t> failed_;
  std::string failure_;
  Position confirmed_;
};

}  // namespace cdc::producer
