// Private to the HttpServer implementation (http_server.cc, http_server_batches.cc): the state of
// one connection and of one event loop.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/http_server.h"

namespace cdc::api {

struct HttpServer::Connection {
  uint64_t id = 0;
  int fd = -1;
  std::string remote;
  std::string in;
  std::string out;
  size_t out_pos = 0;
  bool busy = false;         // a request is in a batch or with a worker
  bool close_after = false;  // close once `out` is written
  bool peer_closed = false;
  bool want_write = false;  // output is waiting for the socket to drain
  uint32_t interest = 0;    // the events registered with epoll
  int64_t last_active_ms = 0;
};

struct HttpServer::Loop {
  int epoll_fd = -1;
  int wake_fd = -1;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections;
  uint64_t next_id = 2;
  bool listening = false;
  struct Pending {
    uint64_t connection_id;
    HttpRequest request;
    bool close;
  };
  std::vector<Pending> batch;  // kBatch requests waiting for the next batch
  bool batch_running = false;  // the batch thread has one
  struct Done {
    uint64_t connection_id;
    HttpRequest request;
    HttpResponse response;
    bool close;
  };
  std::mutex mutex;  // guards the members below
  std::vector<Done> done;
  bool batch_done = false;      // the batch thread finished its batch (its answers are in `done`)
  std::vector<int> adopted;     // accepted sockets handed over by the accepting loop
  std::vector<Pending> handed;  // the batch thread's next batch
  std::condition_variable batch_ready;
  int64_t last_sweep_ms = 0;
};

}  // namespace cdc::api
