#include "api/pool.h"

#include "common/error.h"

namespace cdc::api {

ConnectionPool::ConnectionPool(std::string url, int size,
                               std::chrono::milliseconds statement_timeout, Logger notices)
    : url_(std::move(url)),
      size_(size),
      statement_timeout_(statement_timeout),
      notices_(std::move(notices)) {}

ConnectionPool::Lease::Lease(ConnectionPool& pool, std::unique_ptr<pg::Connection> connection)
    : pool_(&pool), connection_(std::move(connection)) {}

ConnectionPool::Lease::~Lease() {
  if (connection_) pool_->Release(std::move(connection_));
}

std::unique_ptr<pg::Connection> ConnectionPool::Open() {
  auto connection = std::make_unique<pg::Connection>(url_, "cdc-api", notices_);
  connection->Exec(
      "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601';"
      " SET default_transaction_read_only = on; SET statement_timeout = " +
      std::to_string(statement_timeout_.count()));
  return connection;
}

ConnectionPool::Lease ConnectionPool::OpenLease() {
  try {
    return Lease(*this, Open());
  } catch (...) {
    Release(nullptr);  // the slot goes back (to a waiter, if any)
    throw;
  }
}

ConnectionPool::Lease ConnectionPool::Acquire(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  if (waiters_.empty()) {
    in_use_.fetch_add(1);
    if (!idle_.empty()) {
      std::unique_ptr<pg::Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(connection));
    }
    if (open_ < size_) {
      ++open_;
      lock.unlock();
      return OpenLease();
    }
  }
  waits_.fetch_add(1);
  Waiter waiter;
  waiters_.push_back(&waiter);
  const auto mine = std::prev(waiters_.end());
  const bool served = waiter.ready.wait_for(
      lock, wait, [&] { return waiter.connection != nullptr || waiter.may_open; });
  if (!served) {
    waiters_.erase(mine);
    throw TransientError(
        "POOL", "no PostgreSQL connection free within " + std::to_string(wait.count()) + " ms");
  }
  in_use_.fetch_add(1);
  if (waiter.connection) return Lease(*this, std::move(waiter.connection));
  lock.unlock();
  return OpenLease();
}

void ConnectionPool::Release(std::unique_ptr<pg::Connection> connection) {
  std::lock_guard lock(mutex_);
  in_use_.fetch_sub(1);
  if (connection && !connection->healthy()) connection.reset();
  if (!connection) --open_;  // broken, or never opened
  if (waiters_.empty()) {
    if (connection) idle_.push_back(std::move(connection));
    return;
  }
  // Straight to the longest waiting thread: a connection, or the slot to open one.
  Waiter* next = waiters_.front();
  waiters_.pop_front();
  if (connection) {
    next->connection = std::move(connection);
  } else {
    ++open_;
    next->may_open = true;
  }
  next->ready.notify_one();
}

}  // namespace cdc::api
