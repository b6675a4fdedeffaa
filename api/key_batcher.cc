#include "api/key_batcher.h"

#include <algorithm>

namespace cdc::api {

KeyBatcher::KeyBatcher(Runner run, int max_leaders, size_t max_batch)
    : run_(std::move(run)),
      max_leaders_(std::max(1, max_leaders)),
      max_batch_(std::max<size_t>(1, max_batch)) {}

KeyBatcher::Found KeyBatcher::Lookup(const std::shared_ptr<const ApiTable>& table,
                                     const std::vector<size_t>& columns,
                                     const std::vector<std::string>& key) {
  // A group is one table object and one column list: one statement. A queued request holds its
  // table, so the address cannot be reused by another table while the group exists.
  std::string group_key = std::to_string(reinterpret_cast<uintptr_t>(table.get()));
  for (const size_t column : columns) group_key += "," + std::to_string(column);
  Waiter me;
  me.table = table;
  me.columns = &columns;
  me.key = &key;
  std::unique_lock lock(mutex_);
  Group& group = groups_[group_key];
  group.queue.push_back(&me);
  if (group.leaders < max_leaders_) {
    ++group.leaders;
    me.lead = true;
  } else {
    me.wake.wait(lock, [&] { return me.done || me.lead; });
  }
  if (me.lead) Lead(group_key, me, lock);
  lock.unlock();
  if (me.failure) std::rethrow_exception(me.failure);
  if (me.error) throw *me.error;
  return me.found;
}

size_t KeyBatcher::queued() {
  std::lock_guard lock(mutex_);
  size_t waiting = 0;
  for (const auto& [key, group] : groups_) waiting += group.queue.size();
  return waiting;
}

void KeyBatcher::Lead(const std::string& group_key, Waiter& me,
                      std::unique_lock<std::mutex>& lock) {
  while (!me.done) {
    Group& group = groups_.at(group_key);
    if (group.queue.empty()) {
      // Another leader took `me` into its batch: wait for that answer.
      me.wake.wait(lock, [&] { return me.done; });
      break;
    }
    std::vector<Waiter*> batch;
    while (!group.queue.empty() && batch.size() < max_batch_) {
      batch.push_back(group.queue.front());
      group.queue.pop_front();
    }
    lock.unlock();
    Answer(batch);
    lock.lock();
    for (Waiter* waiter : batch) {
      waiter->done = true;
      if (waiter != &me) waiter->wake.notify_one();
    }
  }
  Group& group = groups_.at(group_key);
  --group.leaders;
  // Keys still queued need a leader: the oldest request that is not leading already.
  for (Waiter* waiter : group.queue) {
    if (!waiter->lead) {
      waiter->lead = true;
      ++group.leaders;
      waiter->wake.notify_one();
      break;
    }
  }
  if (group.queue.empty() && group.leaders == 0) groups_.erase(group_key);
}

void KeyBatcher::Answer(const std::vector<Waiter*>& batch) {
  statements_.fetch_add(1);
  keys_.fetch_add(static_cast<int64_t>(batch.size()));
  // Every failure lands in the waiters' outcomes: a waiter left without one would wait forever.
  try {
    std::vector<std::vector<std::string>> keys;
    keys.reserve(batch.size());
    for (const Waiter* waiter : batch) keys.push_back(*waiter->key);
    const Waiter& first = *batch.front();
    auto result =
        std::make_shared<const pg::Result>(run_(KeysStatement(*first.table, *first.columns, keys)));
    for (int row = 0; row < result->rows(); ++row) {
      const int64_t position = result->GetInt(row, 0);
      if (position >= 1 && position <= static_cast<int64_t>(batch.size())) {
        batch[static_cast<size_t>(position - 1)]->found = {result, row};
      }
    }
  } catch (const ApiError& error) {
    if (batch.size() > 1 && error.code() == ErrorCode::kFormat) {
      // One value PostgreSQL rejects (e.g. 2026-02-30 for a date) fails the whole statement:
      // ask again key by key so only its own request gets the error.
      for (Waiter* waiter : batch) Answer({waiter});
      return;
    }
    for (Waiter* waiter : batch) waiter->error = error;
  } catch (...) {
    for (Waiter* waiter : batch) waiter->failure = std::current_exception();
  }
}

}  // namespace cdc::api
