// A fixed set of threads running queued jobs in arrival order. A thread that finishes a job takes
// the next one without sleeping, and a job pushed while every thread is busy wakes no one, so a
// pool that is as large as the work it can do in parallel (cdc-api: one thread per PostgreSQL
// connection) runs saturated without a context switch per job.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace cdc::api {

template <typename Job>
class WorkerPool {
 public:
  using Handler = std::function<void(Job&)>;

  explicit WorkerPool(Handler handler) : handler_(std::move(handler)) {}
  ~WorkerPool() { Stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts `threads` (at least 1) threads.
  void Start(int threads) {
    for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { Run(); });
  }

  void Push(Job job) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
  }

  // Lets running jobs finish, drops the queued ones, joins. Safe to call twice.
  void Stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  void Run() {
    while (true) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      handler_(job);
    }
  }

  const Handler handler_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cdc::api
