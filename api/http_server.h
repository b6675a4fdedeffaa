// cdc-api's HTTP/1.1 server: a few epoll I/O threads own the connections; requests that need no
// database (health, errors) are answered on the I/O thread; reads by key are gathered and
// answered together by the loop's batch thread (one batch in flight per loop: the reads that
// arrive while it runs go together next, one statement per table); everything else (pages,
// long-polls, status) runs on a worker pool. The I/O threads never wait for PostgreSQL, so
// /health answers while the database hangs, and under load one epoll wake-up serves many
// connections and one hand-off many keys. Thread-per-connection (the cpp-httplib server this
// replaces) cost two or three context switches per request on a 2-core VM and capped by-key
// reads at ~10k/s.
//
// Protocol: HTTP/1.0 and 1.1, keep-alive (1.1 by default, 1.0 with "Connection: keep-alive"),
// pipelined requests answered in order, bodies read by Content-Length and ignored (the API has no
// request bodies; chunked ones are refused with 411). Bounded: request line (414), all headers
// (431), body (413); a malformed request line or header gets 400 and the connection closes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "api/query.h"
#include "common/host_port.h"

namespace cdc::api {

struct HttpRequest {
  std::string method;
  std::string target;  // as sent
  std::string path;    // target up to '?', not decoded
  QueryParams params;  // decoded ('+' is a space)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string remote_addr;
  bool head = false;  // HEAD: answered as GET without the body

  // The first header of this name (case-insensitive), or "".
  std::string Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type;

  void SetHeader(std::string name, std::string value);
  void SetContent(std::string content, std::string type);
};

struct HttpLimits {
  size_t max_request_line = 8192;
  size_t max_header_bytes = 8192;
  size_t max_body = 64 * 1024;
};

// One request from the front of `buffer`. kComplete: `request` is filled, `consumed` bytes
// (head and body) belong to it, `close` says whether the connection ends after the answer.
// kError: `status` says why (the connection must close). kIncomplete: read more.
enum class ParseOutcome { kIncomplete, kComplete, kError };
ParseOutcome ParseHttpRequest(std::string_view buffer, const HttpLimits& limits,
                              HttpRequest& request, size_t& consumed, bool& close, int& status);

// The query string's parameters, percent-decoded with '+' as a space; a '%' not followed by two
// hex digits is kept as it is.
QueryParams ParseQueryString(std::string_view query);

// The status line, headers and body of `response` to `request` (no body for HEAD).
std::string SerializeHttpResponse(const HttpRequest& request, const HttpResponse& response,
                                  bool close);

class HttpServer {
 public:
  enum class Lane {
    kInline,  // answered on the I/O thread by `serve`: must not block
    kBatch,   // gathered and answered together by `serve_batch` on the loop's batch thread
    kWorker,  // answered by `serve` on a worker thread
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
    int workers = 64;
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
    Loop* loop;
    uint64_t connection_id;
    HttpRequest request;
    bool close;
  };
  void RunLoop(Loop& loop);
  void RunWorker();
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
  std::mutex jobs_mutex_;
  std::condition_variable jobs_ready_;
  std::deque<Job> jobs_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  size_t next_loop_ = 0;  // the accepting loop's round-robin
  bool started_ = false;
};

}  // namespace cdc::api
