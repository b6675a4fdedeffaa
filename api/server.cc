#include "api/server.h"

#include <algorithm>
#include <map>
#include <random>

namespace cdc::api {
namespace {

constexpr const char* kJson = "application/json";

bool ValidIdChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' ||
         c == '-';
}

const char* RouteLabel(RouteId id) {
  switch (id) {
    case RouteId::kHealth:
      return "health";
    case RouteId::kReady:
      return "ready";
    case RouteId::kMetrics:
      return "metrics";
    case RouteId::kOpenApi:
      return "openapi";
    case RouteId::kTables:
      return "tables";
    case RouteId::kRows:
      return "rows";
    case RouteId::kRow:
      return "row";
    case RouteId::kChanges:
      return "changes";
    case RouteId::kStatus:
      return "status";
    case RouteId::kDeadLetters:
      return "dead_letters";
    case RouteId::kDiscardDeadLetter:
      return "discard_dead_letter";
    case RouteId::kSchemaById:
      return "schema_by_id";
    case RouteId::kSubjects:
      return "subjects";
    case RouteId::kSubjectVersions:
      return "subject_versions";
    case RouteId::kSubjectVersion:
      return "subject_version";
  }
  return "unknown";
}

void SetError(HttpResponse& res, ErrorCode code, const std::string& message,
              const nlohmann::json& details, const std::string& request_id) {
  res.status = HttpStatus(code);
  res.SetContent(ErrorBody(code, message, details, request_id), kJson);
}

bool IsGet(const HttpRequest& req) { return req.method == "GET" || req.method == "HEAD"; }

// True when `req`'s method is the one `route` answers (GET also answers HEAD).
bool MethodMatches(const HttpRequest& req, const RouteSpec& route) {
  return route.method == "GET" ? IsGet(req) : req.method == route.method;
}

}  // namespace

std::string RequestId(const std::string& given) {
  if (!given.empty() && given.size() <= 64 &&
      std::all_of(given.begin(), given.end(), ValidIdChar)) {
    return given;
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string id(16, '0');
  uint64_t bits = rng();
  for (char& c : id) {
    c = kDigits[bits & 0xF];
    bits >>= 4;
  }
  return id;
}

ApiServer::ApiServer(const ApiSettings& settings, ReadApi& api, RegistryApi& schemas,
                     ConnectionPool& pool, metrics::Registry& registry, std::string openapi_json,
                     Logger logger, Clock& clock)
    : settings_(settings),
      api_(api),
      schemas_(schemas),
      pool_(pool),
      registry_(registry),
      openapi_json_(std::move(openapi_json)),
      logger_(std::move(logger)),
      auth_(settings.tokens),
      limiter_(settings.rate_limit_per_second, settings.rate_limit_burst, clock),
      metrics_(std::make_unique<ApiMetrics>(registry)) {
  HttpServer::Options options;
  options.listen = settings_.listen;
  options.io_threads = settings_.io_threads;
  options.query_workers = settings_.pool_size;  // one per connection: none queues for one
  options.wait_workers = settings_.threads;
  HttpServer::Handlers handlers;
  handlers.lane = [this](const HttpRequest& req) { return LaneOf(req); };
  handlers.serve = [this](const HttpRequest& req, HttpResponse& res) { Dispatch(req, res); };
  handlers.serve_batch = [this](std::span<const HttpRequest* const> requests,
                                std::span<HttpResponse* const> responses) {
    DispatchBatch(requests, responses);
  };
  handlers.protocol_error = [this](int status, const HttpRequest& req, HttpResponse& res) {
    ProtocolError(status, req, res);
  };
  server_ = std::make_unique<HttpServer>(std::move(options), std::move(handlers));
}

ApiServer::~ApiServer() { Stop(); }

uint16_t ApiServer::Start() { return server_->Start(); }

void ApiServer::Stop() {
  stopping_.request_stop();  // ends long-polls, so the workers can finish
  server_->Stop();
}

HttpServer::Lane ApiServer::LaneOf(const HttpRequest& req) const {
  const std::optional<RouteMatch> match = MatchRoute(req.path);
  // 404, 405 or a CORS preflight
  if (!match || !MethodMatches(req, *match->route)) return HttpServer::Lane::kInline;
  switch (match->route->id) {
    case RouteId::kHealth:
    case RouteId::kOpenApi:
      return HttpServer::Lane::kInline;
    case RouteId::kRow:
      return HttpServer::Lane::kBatch;
    case RouteId::kReady:
    case RouteId::kMetrics:
      return HttpServer::Lane::kWait;  // probes answer while queries keep the workers busy
    case RouteId::kSchemaById:
    case RouteId::kSubjects:
    case RouteId::kSubjectVersions:
    case RouteId::kSubjectVersion:
      return HttpServer::Lane::kWait;  // Kafka, not PostgreSQL: no query worker is held
    case RouteId::kChanges: {
      // A long-poll waits without a connection; it must not take a query worker.
      const auto wait = req.params.find("wait_ms");
      return wait != req.params.end() && wait->second != "0" ? HttpServer::Lane::kWait
                                                             : HttpServer::Lane::kWorker;
    }
    default:
      return HttpServer::Lane::kWorker;
  }
}

void ApiServer::ProtocolError(int status, const HttpRequest& req, HttpResponse& res) {
  Context context{std::chrono::steady_clock::now(), RequestId(req.Header("X-Request-ID")),
                  std::nullopt, "unknown"};
  res.SetHeader("X-Request-ID", context.id);
  const std::string message =
      status == 411 ? "request bodies must have a Content-Length"
                    : "the request cannot be served (HTTP " + std::to_string(status) + ")";
  res.status = status;
  res.SetContent(ErrorBody(ErrorCode::kFormat, message, nullptr, context.id), kJson);
  Finish(req, res, context);
}

void ApiServer::Other(const HttpRequest& req, HttpResponse& res) {
  Context context{std::chrono::steady_clock::now(), RequestId(req.Header("X-Request-ID")),
                  MatchRoute(req.path), "unknown"};
  res.SetHeader("X-Request-ID", context.id);
  if (context.match) context.route = RouteLabel(context.match->route->id);
  const std::string origin = req.Header("Origin");
  if (req.method == "OPTIONS" && context.match && !origin.empty()) {
    // CORS preflight: only configured origins may call.
    if (std::find(settings_.cors_origins.begin(), settings_.cors_origins.end(), origin) ==
        settings_.cors_origins.end()) {
      SetError(res, ErrorCode::kForbidden, "origin not allowed",
               {{"origin", origin.substr(0, 200)}}, context.id);
    } else {
      res.status = 204;
      res.SetHeader("Access-Control-Allow-Origin", origin);
      res.SetHeader("Access-Control-Allow-Methods", context.match->route->method + ", OPTIONS");
      res.SetHeader("Access-Control-Allow-Headers",
                    "Authorization, X-Request-ID" +
                        std::string(context.match->route->method == "GET" ? "" : ", Content-Type"));
      res.SetHeader("Access-Control-Max-Age", "600");
      res.SetHeader("Vary", "Origin");
    }
  } else if (context.match) {
    const std::string& method = context.match->route->method;
    res.SetHeader("Allow", method + ", OPTIONS");
    SetError(res, ErrorCode::kMethod,
             req.method.substr(0, 20) + " is not allowed here; use " + method, nullptr, context.id);
  } else {
    SetError(res, ErrorCode::kNotFound, "no such route", nullptr, context.id);
  }
  Finish(req, res, context);
}

bool ApiServer::Admit(const HttpRequest& req, HttpResponse& res, Context& context) {
  context.started = std::chrono::steady_clock::now();
  context.id = RequestId(req.Header("X-Request-ID"));
  res.SetHeader("X-Request-ID", context.id);
  context.match = MatchRoute(req.path);
  if (!context.match) {
    SetError(res, ErrorCode::kNotFound, "no such route", nullptr, context.id);
    Finish(req, res, context);
    return false;
  }
  context.route = RouteLabel(context.match->route->id);
  const std::string origin = req.Header("Origin");
  if (!origin.empty() && std::find(settings_.cors_origins.begin(), settings_.cors_origins.end(),
                                   origin) != settings_.cors_origins.end()) {
    res.SetHeader("Access-Control-Allow-Origin", origin);
    res.SetHeader("Vary", "Origin");
  }
  const bool open = std::find(settings_.open_paths.begin(), settings_.open_paths.end(), req.path) !=
                    settings_.open_paths.end();
  std::string caller = req.remote_addr;
  if (auth_.enabled() && !open) {
    const std::string authorization = req.Header("Authorization");
    const std::optional<std::string_view> token = TokenAuth::BearerToken(authorization);
    if (!token || !auth_.Accepts(*token)) {
      res.SetHeader("WWW-Authenticate", "Bearer");
      SetError(res, ErrorCode::kUnauthorized,
               token ? "the bearer token is not valid" : "a bearer token is required", nullptr,
               context.id);
      Finish(req, res, context);
      return false;
    }
    caller = "token:" + std::string(*token);
  }
  if (!open) {
    if (const std::optional<int64_t> retry = limiter_.Take(caller)) {
      res.SetHeader("Retry-After", std::to_string(*retry));
      SetError(res, ErrorCode::kRateLimited, "too many requests; retry later",
               {{"retry_after_seconds", *retry}}, context.id);
      Finish(req, res, context);
      return false;
    }
  }
  return true;
}

void ApiServer::Dispatch(const HttpRequest& req, HttpResponse& res) {
  const std::optional<RouteMatch> match = MatchRoute(req.path);
  if (!match || !MethodMatches(req, *match->route)) {
    Other(req, res);
    return;
  }
  Context context;
  if (!Admit(req, res, context)) return;
  try {
    Serve(*context.match, req, res, context.id);
  } catch (const ApiError& e) {
    SetError(res, e.code(), e.what(), e.details(), context.id);
  } catch (const std::exception& e) {
    logger_.Error("request failed", {{"request_id", context.id}, {"error", e.what()}});
    SetError(res, ErrorCode::kInternal, "internal error", nullptr, context.id);
  }
  Finish(req, res, context);
}

void ApiServer::DispatchBatch(std::span<const HttpRequest* const> requests,
                              std::span<HttpResponse* const> responses) {
  // Every request here is a GET of one row by key: admit each, then answer the admitted ones
  // with one statement per table and field list.
  struct Item {
    const HttpRequest* req;
    HttpResponse* res;
    Context context;
    ReadApi::RowLookup lookup;
    KeyBatcher::KeyLookup outcome;
  };
  std::vector<Item> items;
  items.reserve(requests.size());
  std::map<std::pair<const ApiTable*, std::vector<size_t>>, std::vector<size_t>> groups;
  for (size_t i = 0; i < requests.size(); ++i) {
    Item item{requests[i], responses[i], {}, {}, {}};
    if (!Admit(*item.req, *item.res, item.context)) continue;
    try {
      const std::optional<std::string> table = PercentDecode(item.context.match->params[0]);
      if (!table) {
        throw ApiError(ErrorCode::kFormat, "malformed percent-encoding in the table name",
                       {{"parameter", "table"}});
      }
      item.lookup = api_.PrepareRow(*table, item.context.match->params[1], item.req->params);
    } catch (const ApiError& e) {
      SetError(*item.res, e.code(), e.what(), e.details(), item.context.id);
      Finish(*item.req, *item.res, item.context);
      continue;
    } catch (const std::exception& e) {
      logger_.Error("request failed", {{"request_id", item.context.id}, {"error", e.what()}});
      SetError(*item.res, ErrorCode::kInternal, "internal error", nullptr, item.context.id);
      Finish(*item.req, *item.res, item.context);
      continue;
    }
    items.push_back(std::move(item));
    Item& added = items.back();
    groups[{added.lookup.table.get(), added.lookup.columns}].push_back(items.size() - 1);
  }
  for (auto& [group, members] : groups) {
    std::vector<KeyBatcher::KeyLookup*> lookups;
    for (const size_t m : members) {
      items[m].outcome.key = &items[m].lookup.key;
      lookups.push_back(&items[m].outcome);
    }
    const Item& first = items[members.front()];
    api_.key_batcher().AnswerAll(first.lookup.table, first.lookup.columns, lookups);
  }
  for (Item& item : items) {
    HttpResponse& res = *item.res;
    try {
      if (item.outcome.failure) std::rethrow_exception(item.outcome.failure);
      if (item.outcome.error) throw *item.outcome.error;
      const Reply reply = ReadApi::RowReply(item.lookup, item.outcome.found);
      res.status = 200;
      res.SetContent(SuccessBody(200, reply.data, item.context.id, reply.pagination), kJson);
    } catch (const ApiError& e) {
      SetError(res, e.code(), e.what(), e.details(), item.context.id);
    } catch (const std::exception& e) {
      logger_.Error("request failed", {{"request_id", item.context.id}, {"error", e.what()}});
      SetError(res, ErrorCode::kInternal, "internal error", nullptr, item.context.id);
    }
    Finish(*item.req, res, item.context);
  }
}

void ApiServer::Serve(const RouteMatch& match, const HttpRequest& req, HttpResponse& res,
                      const std::string& request_id) {
  const QueryParams& params = req.params;
  const auto table = [&]() -> std::string {
    const std::optional<std::string> name = PercentDecode(match.params[0]);
    if (!name) {
      throw ApiError(ErrorCode::kFormat, "malformed percent-encoding in the table name",
                     {{"parameter", "table"}});
    }
    return *name;
  };
  Reply reply;
  switch (match.route->id) {
    case RouteId::kSchemaById:
    case RouteId::kSubjects:
    case RouteId::kSubjectVersions:
    case RouteId::kSubjectVersion: {
      const RegistryApi::Answer answer = schemas_.Serve(match.route->id, match.params);
      res.status = answer.status;
      res.SetContent(answer.body, RegistryApi::kContentType);
      return;
    }
    case RouteId::kHealth:
      res.SetContent(R"({"status":"ok"})", kJson);
      return;
    case RouteId::kReady: {
      const std::optional<std::string> reason = api_.NotReady();
      res.status = reason ? 503 : 200;
      res.SetContent(reason ? nlohmann::json({{"status", "not ready"}, {"reason", *reason}}).dump()
                            : std::string(R"({"status":"ready"})"),
                     kJson);
      return;
    }
    case RouteId::kMetrics:
      metrics_->pool_in_use.Get().Set(pool_.in_use());
      metrics_->pool_size.Get().Set(pool_.size());
      metrics_->pool_waits.Get().Set(static_cast<double>(pool_.waits()));
      metrics_->key_lookup_statements.Get().Set(
          static_cast<double>(api_.key_batcher().statements()));
      metrics_->key_lookup_keys.Get().Set(static_cast<double>(api_.key_batcher().keys()));
      res.SetContent(registry_.Render() + metrics::RenderReadyGauge(!api_.NotReady()),
                     "text/plain; version=0.0.4; charset=utf-8");
      return;
    case RouteId::kOpenApi:
      res.SetContent(openapi_json_, kJson);
      return;
    case RouteId::kTables:
      OnlyParams(params, {});
      reply = api_.Tables();
      break;
    case RouteId::kRows:
      reply = api_.Rows(table(), params);
      break;
    case RouteId::kRow:
      reply = api_.Row(table(), match.params[1], params);
      break;
    case RouteId::kChanges:
      reply = api_.Changes(table(), params, stopping_.get_token());
      break;
    case RouteId::kStatus:
      OnlyParams(params, {});
      reply = api_.Status();
      break;
    case RouteId::kDeadLetters:
      reply = api_.DeadLetters(params);
      break;
    case RouteId::kDiscardDeadLetter: {
      OnlyParams(params, {});
      // A change made by an anonymous caller could not be accounted for: writes need a token,
      // also on a path listed in api.open_paths.
      const std::string authorization = req.Header("Authorization");  // the token views it
      const std::optional<std::string_view> token = TokenAuth::BearerToken(authorization);
      if (!auth_.enabled() || !token || !auth_.Accepts(*token)) {
        throw ApiError(ErrorCode::kForbidden,
                       "discarding dead letters needs api.tokens (this API serves anonymous "
                       "callers); use cdc-consumer dlq discard");
      }
      reply = api_.DiscardDeadLetter(match.params[0], req.body,
                                     "cdc-api caller from " + req.remote_addr.substr(0, 64));
      break;
    }
  }
  res.status = 200;
  res.SetContent(SuccessBody(200, reply.data, request_id, reply.pagination), kJson);
}

void ApiServer::Finish(const HttpRequest& req, HttpResponse& res, const Context& context) {
  res.SetHeader("X-Content-Type-Options", "nosniff");
  res.SetHeader("Cache-Control", "no-store");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - context.started).count();
  metrics_->requests.WithLabels({context.route, std::to_string(res.status)}).Inc();
  metrics_->duration.WithLabels({context.route}).Observe(seconds);
  logger_.Info("request", {{"request_id", context.id},
                           {"method", req.method.substr(0, 16)},
                           {"path", req.path.substr(0, 200)},
                           {"route", context.route},
                           {"status", res.status},
                           {"ms", seconds * 1000.0},
                           {"client", req.remote_addr}});
}

}  // namespace cdc::api
