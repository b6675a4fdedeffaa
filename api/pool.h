// A fixed-size pool of PostgreSQL connections to the replica, shared by the request threads.
// Connections are opened on demand, set up for the API (UTC, ISO dates, read-only transactions,
// the per-statement timeout) and dropped when they break. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/pg/connection.h"

namespace cdc::api {

class ConnectionPool {
 public:
  ConnectionPool(std::string url, int size, std::chrono::milliseconds statement_timeout);

  // A connection on loan; returns it to the pool when destroyed (or drops it when broken).
  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<pg::Connection> connection);
    ~Lease();
    Lease(Lease&&) = default;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    pg::Connection& operator*() { return *connection_; }
    pg::Connection* operator->() { return connection_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<pg::Connection> connection_;
  };

  // Waits up to `wait` for a free connection. Throws TransientError("POOL") when none frees up
  // in time, and the connect error when a new connection cannot be opened.
  Lease Acquire(std::chrono::milliseconds wait);

  int size() const { return size_; }
  int in_use() const { return in_use_.load(); }
  // Acquisitions that had to wait for a connection, since start.
  int64_t waits() const { return waits_.load(); }

 private:
  void Release(std::unique_ptr<pg::Connection> connection);
  std::unique_ptr<pg::Connection> Open();

  const std::string url_;
  const int size_;
  const std::chrono::milliseconds statement_timeout_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<pg::Connection>> idle_;
  int open_ = 0;  // connections that exist (idle + on loan)
  std::atomic<int> in_use_{0};
  std::atomic<int64_t> waits_{0};
};

}  // namespace cdc::api
