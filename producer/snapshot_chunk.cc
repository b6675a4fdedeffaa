#include "producer/snapshot_chunk.h"

#include <cstring>

namespace cdc::producer {

std::string KeyIdentity(const event::Row& key) {
  std::string out;
  for (const event::Value& value : key) {
    out += static_cast<char>('0' + value.index());
    if (const auto* text = std::get_if<std::string>(&value)) {
      out += std::to_string(text->size()) + ':' + *text;
    } else if (const auto* integer = std::get_if<int64_t>(&value)) {
      out += std::to_string(*integer) + ';';
    } else if (const auto* real = std::get_if<double>(&value)) {
      char bits[sizeof(double)];
      std::memcpy(bits, real, sizeof bits);
      out.append(bits, sizeof bits);
    } else if (const auto* flag = std::get_if<bool>(&value)) {
      out += *flag ? '1' : '0';
    }
  }
  return out;
}

HeldChunk::HeldChunk(int64_t position, std::optional<KeysetPosition> last_key, size_t read)
    : position_(position), last_key_(std::move(last_key)), read_(read) {}

void HeldChunk::Add(std::string identity, std::vector<event::Message> messages) {
  index_.emplace(std::move(identity), entries_.size());
  entries_.push_back({std::move(messages), false});
}

void HeldChunk::Supersede(const std::string& identity) {
  const auto it = index_.find(identity);
  if (it == index_.end() || entries_[it->second].superseded) return;
  entries_[it->second].superseded = true;
  ++superseded_;
}

std::vector<event::Message> HeldChunk::TakeMessages() {
  std::vector<event::Message> out;
  for (Entry& entry : entries_) {
    if (entry.superseded) continue;
    for (event::Message& message : entry.messages) out.push_back(std::move(message));
  }
  entries_.clear();
  index_.clear();
  return out;
}

}  // namespace cdc::producer
