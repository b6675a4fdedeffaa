#include "api/key_batcher.h"

#include <algorithm>

namespace cdc::api {

KeyBatcher::KeyBatcher(Runner run, size_t max_batch)
    : run_(std::move(run)), max_batch_(std::max<size_t>(1, max_batch)) {}

void KeyBatcher::AnswerAll(const std::shared_ptr<const ApiTable>& table,
                           const std::vector<size_t>& columns,
                           const std::vector<KeyLookup*>& lookups) {
  for (size_t begin = 0; begin < lookups.size(); begin += max_batch_) {
    const size_t end = std::min(lookups.size(), begin + max_batch_);
    Answer(*table, columns,
           std::vector<KeyLookup*>(lookups.begin() + static_cast<ptrdiff_t>(begin),
                                   lookups.begin() + static_cast<ptrdiff_t>(end)));
  }
}

void KeyBatcher::Answer(const ApiTable& table, const std::vector<size_t>& columns,
                        const std::vector<KeyLookup*>& batch) {
  statements_.fetch_add(1);
  keys_.fetch_add(static_cast<int64_t>(batch.size()));
  // Every failure lands in the outcomes.
  try {
    std::vector<std::vector<std::string>> keys;
    keys.reserve(batch.size());
    for (const KeyLookup* lookup : batch) keys.push_back(*lookup->key);
    auto result = std::make_shared<const pg::Result>(run_(KeysStatement(table, columns, keys)));
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
      for (KeyLookup* lookup : batch) Answer(table, columns, {lookup});
      return;
    }
    for (KeyLookup* lookup : batch) lookup->error = error;
  } catch (...) {
    for (KeyLookup* lookup : batch) lookup->failure = std::current_exception();
  }
}

}  // namespace cdc::api
