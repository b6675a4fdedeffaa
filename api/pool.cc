#include "api/pool.h"

#include "common/error.h"

namespace cdc::api {

ConnectionPool::ConnectionPool(std::string url, int size,
                               std::chrono::milliseconds statement_timeout)
    : url_(std::move(url)), size_(size), statement_timeout_(statement_timeout) {}

ConnectionPool::Lease::Lease(ConnectionPool& pool, std::unique_ptr<pg::Connection> connection)
    : pool_(&pool), connection_(std::move(connection)) {}

ConnectionPool::Lease::~Lease() {
  if (connection_) pool_->Release(std::move(connection_));
}

std::unique_ptr<pg::Connection> ConnectionPool::Open() {
  auto connection = std::make_unique<pg::Connection>(url_, "cdc-api");
  connection->Exec(
      "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601';"
      " SET default_transaction_read_only = on; SET statement_timeout = " +
      std::to_string(statement_timeout_.count()));
  return connection;
}

ConnectionPool::Lease ConnectionPool::Acquire(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  if (idle_.empty() && open_ >= size_) {
    waits_.fetch_add(1);
    if (!freed_.wait_for(lock, wait, [&] { return !idle_.empty() || open_ < size_; })) {
      throw TransientError(
          "POOL", "no PostgreSQL connection free within " + std::to_string(wait.count()) + " ms");
    }
  }
  in_use_.fetch_add(1);
  if (!idle_.empty()) {
    std::unique_ptr<pg::Connection> connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(connection));
  }
  ++open_;  // reserve the slot, then connect without holding the lock
  lock.unlock();
  try {
    return Lease(*this, Open());
  } catch (...) {
    lock.lock();
    --open_;
    in_use_.fetch_sub(1);
    freed_.notify_one();
    throw;
  }
}

void ConnectionPool::Release(std::unique_ptr<pg::Connection> connection) {
  {
    std::lock_guard lock(mutex_);
    in_use_.fetch_sub(1);
    if (connection->healthy()) {
      idle_.push_back(std::move(connection));
    } else {
      --open_;
    }
  }
  freed_.notify_one();
}

}  // namespace cdc::api
