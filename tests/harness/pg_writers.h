// Application writers for tests that change a source under load: `threads` connections to
// PostgreSQL, each running transactions `write(tx, id)` (ids 1, 2, ... across all threads) until
// Stop(); counts commits and failures and keeps the last failure's text.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

namespace cdc::testing {

class PgWriters {
 public:
  using Write = std::function<void(pqxx::work&, int id)>;

  PgWriters(const std::string& url, int threads, Write write,
            std::chrono::microseconds pause = std::chrono::microseconds(0))
      : write_(std::move(write)) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, url, pause] {
        pqxx::connection db(url);
        while (!stop_) {
          const int id = ++next_id_;
          try {
            pqxx::work tx(db);
            write_(tx, id);
            tx.commit();
            ++committed_;
          } catch (const std::exception& e) {
            ++failed_;
            std::lock_guard lock(mutex_);
            failure_ = e.what();
          }
          if (pause.count() > 0) std::this_thread::sleep_for(pause);
        }
      });
    }
  }
  ~PgWriters() { Stop(); }
  PgWriters(const PgWriters&) = delete;
  PgWriters& operator=(const PgWriters&) = delete;

  void Stop() {
    stop_ = true;
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  int committed() const { return committed_; }
  int failed() const { return failed_; }
  int transactions() const { return next_id_; }  // after Stop(): committed() + failed()
  std::string failure() const {
    std::lock_guard lock(mutex_);
    return failure_;
  }

 private:
  const Write write_;
  std::atomic<bool> stop_ = false;
  std::atomic<int> next_id_ = 0;
  std::atomic<int> committed_ = 0;
  std::atomic<int> failed_ = 0;
  mutable std::mutex mutex_;
  std::string failure_;
  std::vector<std::thread> threads_;
};

}  // namespace cdc::testing
