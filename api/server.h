// The HTTP side of cdc-api: one dispatcher over the route table for every request, which assigns
// the request id, checks the bearer token and the rate limit, applies CORS, calls the endpoint,
// wraps the answer in the envelope (errors included: never a bare 5xx or a crash), sets the
// security headers, counts the request in /metrics and writes one JSON access-log line. Served
// by HttpServer (http_server.h): reads by key are answered per event-loop turn with one
// statement per table, cheap routes on the I/O threads, the rest on `api.threads` workers.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <thread>

#include "api/access.h"
#include "api/api_metrics.h"
#include "api/http_server.h"
#include "api/read_api.h"
#include "api/registry_api.h"
#include "api/router.h"
#include "api/settings.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics/registry.h"

namespace cdc::api {

class ApiServer {
 public:
  // Every reference must outlive the server. `openapi_json` is served at /api/v1/openapi.json.
  ApiServer(const ApiSettings& settings, ReadApi& api, RegistryApi& schemas, ConnectionPool& pool,
            metrics::Registry& registry, std::string openapi_json, Logger logger, Clock& clock);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds api.listen and starts serving; returns the bound port. Throws FatalError("LISTEN").
  uint16_t Start();
  // Ends long-polls, stops accepting and joins. Safe to call twice.
  void Stop();

 private:
  // What the dispatcher knows of a request before its endpoint runs.
  struct Context {
    std::chrono::steady_clock::time_point started;
    std::string id;
    std::optional<RouteMatch> match;
    std::string route;  // label for metrics and the log
  };
  HttpServer::Lane LaneOf(const HttpRequest& req) const;
  void Dispatch(const HttpRequest& req, HttpResponse& res);
  void DispatchBatch(std::span<const HttpRequest* const> requests,
                     std::span<HttpResponse* const> responses);
  void ProtocolError(int status, const HttpRequest& req, HttpResponse& res);
  // The checks before a GET's endpoint (route, CORS, auth, rate limit): false when `res` is the
  // answer already (and finished).
  bool Admit(const HttpRequest& req, HttpResponse& res, Context& context);
  void Other(const HttpRequest& req, HttpResponse& res);  // non-GET methods
  void Serve(const RouteMatch& match, const HttpRequest& req, HttpResponse& res,
             const std::string& request_id);
  void Finish(const HttpRequest& req, HttpResponse& res, const Context& context);

  const ApiSettings& settings_;
  ReadApi& api_;
  RegistryApi& schemas_;
  ConnectionPool& pool_;
  metrics::Registry& registry_;
  const std::string openapi_json_;
  const Logger logger_;
  TokenAuth auth_;
  RateLimiter limiter_;
  std::unique_ptr<ApiMetrics> metrics_;
  std::stop_source stopping_;
  std::unique_ptr<HttpServer> server_;
};

// X-Request-ID as given when it is 1..64 characters of [A-Za-z0-9._:-], else a new random id.
std::string RequestId(const std::string& given);

}  // namespace cdc::api
