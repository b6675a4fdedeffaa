// A fixed-size pool of PostgreSQL connections to the replica, shared by the request threads.
// Connections are opened on demand, set up for the API (UTC, ISO dates, read-only transactions,
// the per-statement timeout) and dropped when they break. A free connection goes to the longest
// waiting thread (first come, first served: no thread starves under load). Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/pg/connection.h"

namespace cdc::api {

class ConnectionPool {
 public:
  // The server's notices on every connection go to `notices`.
  ConnectionPool(std::string url, int size, std::chrono::milliseconds statement_timeout,
                 Logger notices);

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
  // A thread waiting for a connection: Release hands it one, or the right to open one.
  struct Waiter {
    std::condition_variable ready;
    std::unique_ptr<pg::Connection> connection;
    bool may_open = false;
  };
  void Release(std::unique_ptr<pg::Connection> connection);
  std::unique_ptr<pg::Connection> Open();
  // Connects outside the lock; on failure gives the slot back.
  Lease OpenLease();

  const std::string url_;
  const int size_;
  const std::chrono::milliseconds statement_timeout_;
  const Logger notices_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<pg::Connection>> idle_;
  std::list<Waiter*> waiters_;  // oldest first
  int open_ = 0;                // connections that exist or are being opened
  std::atomic<int> in_use_{0};
  std::atomic<int64_t> waits_{0};
};

}  // namespace cdc::api
