// One snapshot chunk between its read and its publication - how snapshots (the initial one and
// backfills) interleave with the stream without putting an older image of a key after a newer
// one, after DBLog's watermark windows (Debezium's incremental snapshots).
//
// The chunk's rows are read at some moment S; its position P is the change table's maximum
// CDC_SEQ read right after S, so every change a row's image contains has a number <= P, and every
// change committed after S that it lacks either has a number > P or fills a gap below P. The
// chunk is held until the stream's watermark reaches P (every change <= P was published or given
// up before it), then published as `r` events carrying P - except the keys the stream published a
// change of after S: that change is as new as the row or newer, so the row's image is dropped
// (superseded) rather than published after it. Every key's events then stay in CDC_SEQ order, and
// no two different images of a key share one CDC_SEQ.
//
// Pure and single-threaded (the table worker).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/event/change_event.h"
#include "common/event/messages.h"
#include "producer/change_source.h"

namespace cdc::producer {

// A key's identity for comparing a snapshot row with a streamed change: its values with their
// types, independent of any schema id in the encoded message key.
std::string KeyIdentity(const event::Row& key);

class HeldChunk {
 public:
  // `position`: the change table's maximum CDC_SEQ read after the chunk's rows.
  HeldChunk(int64_t position, std::optional<KeysetPosition> last_key, size_t read);

  // Adds one row's messages (its `r` event), keyed by KeyIdentity.
  void Add(std::string identity, std::vector<event::Message> messages);
  // The stream published a change of `identity` after the chunk was read: drop that row.
  void Supersede(const std::string& identity);
  // True once the stream's watermark has reached the chunk's position.
  bool Ready(int64_t watermark) const { return watermark >= position_; }

  // The messages of the rows not superseded, in read order (leaves the chunk empty).
  std::vector<event::Message> TakeMessages();
  size_t superseded() const { return superseded_; }
  int64_t position() const { return position_; }
  const std::optional<KeysetPosition>& last_key() const { return last_key_; }
  size_t read() const { return read_; }

 private:
  struct Entry {
    std::vector<event::Message> messages;
    bool superseded = false;
  };
  const int64_t position_;
  const std::optional<KeysetPosition> last_key_;
  const size_t read_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> index_;  // identity -> entries_ position
  size_t superseded_ = 0;
};

}  // namespace cdc::producer
