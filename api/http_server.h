// cdc-api's HTTP/1.1 server: a few epoll I/O threads own the connections; requests that need no
// database (health, errors) are answered on the I/O thread; reads by key are gathered and
// answered together by the loop's batch thread (one batch in flight per loop: the reads that
// arrive while it runs go together next, one statement per table); queries (pages, status) run
// on one worker per PostgreSQL connection, so no worker queues for a connection and a busy pool
// runs without a context switch per request; long-polls and probes run on a larger pool of their
// own. The I/O threads never wait for PostgreSQL, so /health answers while the database hangs,
// and under load one epoll wake-up serves many connections and one hand-off many keys.
// Thread-per-connection (the cpp-httplib server this replaces) cost two or three context
// switches per request on a 2-core VM and capped by-key reads at ~10k/s.
//
// Protocol as parsed by http_message.h; pipelined requests are answered in order, bodies are read
// and ignored (the API has none), and a request that cannot be read is answered and closes the
// connection.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "api/http_message.h"
#include "api/worker_pool.h"
#include "common/host_port.h"

namespace cdc::api {

class HttpServer {
 public:
  enum class Lane {
    kInline,  // answered on the I/O thread by `serve`: must not block
    kBatch,   // gathered and answered together by `serve_batch` on the loop's batch thread
    kWorker,  // answered by `serve` on one of `query_workers`
    kWait,    // answered by `serve` on one of `wait_workers`: may wait long (a long-poll)
  };
  struct Handlers {
    std::function<Lane(const HttpRequest&)> lane;
    std::function<void(const HttpRequest&, HttpResponse&)> serve;
    // requests[i] is answered in responses[i]; all of one I/O thread's connections.
    std::function<void(std::span<const HttpRequest* const>, std::span<HttpResponse* const>)>
        serve_batch;
    // A request that could not be read: `status` is 400, 411, 413, 414, 431 or 505; `request`
    // holds what was read of it.
    std::function<void(int status, const HttpRequest& request, HttpResponse&)> protocol_error;
  };
  struct Options {
    HostPort listen;
    int io_threads = 1;
    int query_workers = 8;
    int wait_workers = 64;
    HttpLimits limits;
    int idle_timeout_ms = 120'000;  // a keep-alive connection with nothing to do is closed
  };

  HttpServer(Options options, Handlers handlers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the threads; returns the bound port. Throws FatalError("LISTEN").
  uint16_t Start();
  // Closes the listener and every connection, lets running workers finish, joins. Handlers that
  // wait (long-polls) must be ended by the caller first. Safe to call twice.
  void Stop();

  // Connections open now (for tests and metrics).
  int connections() const { return connections_.load(); }

 private:
  struct Connection;
  struct Loop;
  struct Job {
    Loop* loop = nullptr;
    uint64_t connection_id = 0;
    HttpRequest request;
    bool close = false;
  };
  void RunLoop(Loop& loop);
  // Serves a kWorker or kWait request and hands the answer to its loop.
  void Serve(Job& job);
  void Accept(Loop& loop);
  void Adopt(Loop& loop, int fd);
  // The functions taking a Connection return false when they closed (and freed) it.
  bool OnReadable(Loop& loop, Connection& c);
  // Parses and dispatches the requests buffered on `c` while it has no request outstanding,
  // then writes what is ready.
  bool Process(Loop& loop, Connection& c);
  // Hands the waiting kBatch requests to the loop's batch thread unless it has a batch.
  void AnswerBatch(Loop& loop);
  void RunBatches(Loop& loop);
  void DrainCompletions(Loop& loop);
  bool Flush(Loop& loop, Connection& c);
  void UpdateInterest(Loop& loop, Connection& c);
  size_t InputCap() const;
  void Close(Loop& loop, Connection& c);
  void SweepIdle(Loop& loop);
  static void Wake(Loop& loop);

  const Options options_;
  const Handlers handlers_;
  int listen_fd_ = -1;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
  WorkerPool<Job> query_workers_;
  WorkerPool<Job> wait_workers_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  size_t next_loop_ = 0;  // the accepting loop's round-robin
  bool started_ = false;
};

}  // namespace cdc::api
