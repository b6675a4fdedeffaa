// HttpServer's hand-off between its event loops and the threads that answer requests: the batch
// thread of each loop (reads by key, answered together) and the worker pools; their answers come
// back to the loop through `Loop::done` and a wake-up.
#include <mutex>
#include <utility>
#include <vector>

#include "api/http_server.h"
#include "api/http_server_state.h"

namespace cdc::api {

void HttpServer::AnswerBatch(Loop& loop) {
  // One batch in flight per loop: requests that arrive meanwhile wait and go together next.
  if (loop.batch_running || loop.batch.empty()) return;
  loop.batch_running = true;
  {
    std::lock_guard lock(loop.mutex);
    loop.handed = std::move(loop.batch);
  }
  loop.batch.clear();
  loop.batch_ready.notify_one();
}

void HttpServer::RunBatches(Loop& loop) {
  while (true) {
    std::vector<Loop::Pending> batch;
    {
      std::unique_lock lock(loop.mutex);
      loop.batch_ready.wait(lock, [&] { return stopping_.load() || !loop.handed.empty(); });
      if (stopping_.load()) return;
      batch.swap(loop.handed);
    }
    std::vector<HttpResponse> responses(batch.size());
    std::vector<const HttpRequest*> requests;
    std::vector<HttpResponse*> outputs;
    requests.reserve(batch.size());
    outputs.reserve(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      requests.push_back(&batch[i].request);
      outputs.push_back(&responses[i]);
    }
    try {
      handlers_.serve_batch(requests, outputs);
    } catch (...) {
      for (HttpResponse& response : responses) {
        response = HttpResponse();
        response.status = 500;
      }
    }
    {
      std::lock_guard lock(loop.mutex);
      for (size_t i = 0; i < batch.size(); ++i) {
        loop.done.push_back({batch[i].connection_id, std::move(batch[i].request),
                             std::move(responses[i]), batch[i].close});
      }
      loop.batch_done = true;
    }
    Wake(loop);
  }
}

void HttpServer::DrainCompletions(Loop& loop) {
  std::vector<Loop::Done> done;
  std::vector<int> adopted;
  {
    std::lock_guard lock(loop.mutex);
    done.swap(loop.done);
    adopted.swap(loop.adopted);
    if (loop.batch_done) {
      loop.batch_done = false;
      loop.batch_running = false;
    }
  }
  for (const int fd : adopted) Adopt(loop, fd);
  for (Loop::Done& d : done) {
    const auto it = loop.connections.find(d.connection_id);
    if (it == loop.connections.end()) continue;
    Connection& c = *it->second;
    c.out += SerializeHttpResponse(d.request, d.response, d.close);
    if (d.close) c.close_after = true;
    c.busy = false;
    Process(loop, c);
  }
}

void HttpServer::Serve(Job& job) {
  HttpResponse response;
  try {
    handlers_.serve(job.request, response);
  } catch (...) {
    response = HttpResponse();
    response.status = 500;
  }
  {
    std::lock_guard lock(job.loop->mutex);
    job.loop->done.push_back(
        {job.connection_id, std::move(job.request), std::move(response), job.close});
  }
  Wake(*job.loop);
}

}  // namespace cdc::api
