#include "deploy/devbroker/control.h"

#include <httplib.h>
#include <strings.h>

#include <charconv>
#include <cstring>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/http_tuning.h"

namespace cdc::devbroker {
namespace {

bool ParseNumber(const std::string& text, long* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

void Reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

void BadRequest(httplib::Response& res, const std::string& code, const std::string& message) {
  Reply(res, 400, {{"error", {{"code", code}, {"message", message}}}});
}

void ReplyResult(httplib::Response& res, rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    Reply(res, 200, {{"ok", true}});
  } else {
    BadRequest(res, rd_kafka_err2name(err), rd_kafka_err2str(err));
  }
}

// Bodies are read only to keep a keep-alive connection in step; none is bigger than this.
constexpr size_t kMaxBody = 64 * 1024;

std::string ErrorCode(int status) {
  switch (status) {
    case 400:
      return "BAD_REQUEST";
    case 404:
      return "NOT_FOUND";
    case 413:
      return "PAYLOAD_TOO_LARGE";
    case 414:
      return "URI_TOO_LONG";
    default:
      return "HTTP_" + std::to_string(status);
  }
}

// Reads and discards the request's body, if it has one. A request with neither Content-Length
// nor Transfer-Encoding has none (RFC 9112 section 6.3); httplib 0.11 would read such a POST's
// body until the client closes the connection (so curl -X POST got 400 after the 5 s read
// timeout), which is why the routes take a ContentReader and call it only for a framed body.
// Returns false with `res` answered 400 or 413 when the body is neither length-delimited nor
// chunked, is malformed, or is over kMaxBody.
bool SkipBody(const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader& read) {
  const bool has_encoding = req.has_header("Transfer-Encoding");
  if (has_encoding &&
      strcasecmp(req.get_header_value("Transfer-Encoding").c_str(), "chunked") != 0) {
    BadRequest(res, "TRANSFER_ENCODING", "only chunked transfer encoding is supported");
    return false;
  }
  if (!has_encoding && !req.has_header("Content-Length")) return true;
  size_t size = 0;
  const auto discard = [&size](const char*, size_t n) {
    size += n;
    return size <= kMaxBody;
  };
  // httplib parses a multipart body even when asked for the raw bytes, and needs both callbacks.
  const bool read_all = req.is_multipart_form_data()
                            ? read([](const httplib::MultipartFormData&) { return true; }, discard)
                            : read(discard);
  if (read_all) return true;
  const int status = size > kMaxBody || res.status == 413 ? 413 : 400;
  const std::string message =
      status == 413 ? "body over " + std::to_string(kMaxBody) + " bytes" : "unreadable body";
  Reply(res, status, {{"error", {{"code", ErrorCode(status)}, {"message", message}}}});
  return false;
}

using RouteHandler = std::function<void(const httplib::Request&, httplib::Response&)>;

// A handler that reads and ignores the body (if any) before `route` answers: only the query
// string carries parameters.
httplib::Server::HandlerWithContentReader IgnoringBody(RouteHandler route) {
  return [route = std::move(route)](const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& read) {
    if (SkipBody(req, res, read)) route(req, res);
  };
}

void Post(httplib::Server& server, const std::string& pattern, RouteHandler route) {
  server.Post(pattern, IgnoringBody(std::move(route)));
}

void NotFound(const httplib::Request&, httplib::Response& res) {
  Reply(res, 404, {{"error", {{"code", "NOT_FOUND"}, {"message", "no such endpoint"}}}});
}

}  // namespace

int ApiKeyFromName(const std::string& name) {
  static const std::map<std::string, int> kApis = {
      {"Produce", 0},
      {"Fetch", 1},
      {"ListOffsets", 2},
      {"Metadata", 3},
      {"OffsetCommit", 8},
      {"OffsetFetch", 9},
      {"FindCoordinator", 10},
      {"JoinGroup", 11},
      {"Heartbeat", 12},
      {"LeaveGroup", 13},
      {"SyncGroup", 14},
      {"DescribeGroups", 15},
      {"ListGroups", 16},
      {"SaslHandshake", 17},
      {"ApiVersions", 18},
      {"CreateTopics", 19},
      {"DeleteTopics", 20},
      {"InitProducerId", 22},
      {"AddPartitionsToTxn", 24},
      {"AddOffsetsToTxn", 25},
      {"EndTxn", 26},
      {"TxnOffsetCommit", 28},
  };
  const auto found = kApis.find(name);
  if (found != kApis.end()) return found->second;
  long number = -1;
  return ParseNumber(name, &number) && number >= 0 && number < 100 ? static_cast<int>(number) : -1;
}

bool ErrorFromName(const std::string& name, rd_kafka_resp_err_t* err) {
  long number = 0;
  if (ParseNumber(name, &number)) {
    *err = static_cast<rd_kafka_resp_err_t>(number);
    return true;
  }
  const struct rd_kafka_err_desc* descs = nullptr;
  size_t count = 0;
  rd_kafka_get_err_descs(&descs, &count);
  for (size_t i = 0; i < count; ++i) {
    if (descs[i].name != nullptr && name == descs[i].name) {
      *err = descs[i].code;
      return true;
    }
  }
  return false;
}

ControlServer::ControlServer(rd_kafka_mock_cluster_t* cluster, int broker_count,
                             std::string bootstrap)
    : cluster_(cluster), broker_count_(broker_count), bootstrap_(std::move(bootstrap)) {}

ControlServer::~ControlServer() { StopHttpServer(server_.get(), thread_); }

uint16_t ControlServer::Start(const HostPort& listen) {
  server_ = std::make_unique<httplib::Server>();
  TuneHttpServer(*server_, 2);
  server_->set_payload_max_length(kMaxBody);

  server_->Get("/status", [this](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, {{"bootstrap", bootstrap_}, {"brokers", broker_count_}});
  });

  Post(*server_, R"(/brokers/(\d+)/(down|up|rtt))",
       [this](const httplib::Request& req, httplib::Response& res) {
         long id = 0;
         if (!ParseNumber(req.matches[1], &id) || id < 1 || id > broker_count_) {
           return BadRequest(res, "BROKER",
                             "broker id must be 1.." + std::to_string(broker_count_));
         }
         const std::string action = req.matches[2];
         const auto broker = static_cast<int32_t>(id);
         if (action == "down")
           return ReplyResult(res, rd_kafka_mock_broker_set_down(cluster_, broker));
         if (action == "up") return ReplyResult(res, rd_kafka_mock_broker_set_up(cluster_, broker));
         long ms = 0;
         if (!ParseNumber(req.get_param_value("ms"), &ms) || ms < 0) {
           return BadRequest(res, "RTT", "rtt needs ?ms=N with N >= 0");
         }
         ReplyResult(res, rd_kafka_mock_broker_set_rtt(cluster_, broker, static_cast<int>(ms)));
       });

  Post(*server_, "/errors", [this](const httplib::Request& req, httplib::Response& res) {
    const int api = ApiKeyFromName(req.get_param_value("api"));
    if (api < 0)
      return BadRequest(res, "API", "unknown api \"" + req.get_param_value("api") + "\"");
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!ErrorFromName(req.get_param_value("error"), &err)) {
      return BadRequest(res, "ERROR", "unknown error \"" + req.get_param_value("error") + "\"");
    }
    long count = 1;
    if (req.has_param("count") &&
        (!ParseNumber(req.get_param_value("count"), &count) || count < 1 || count > 100000)) {
      return BadRequest(res, "COUNT", "count must be 1..100000");
    }
    const std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(count), err);
    rd_kafka_mock_push_request_errors_array(cluster_, static_cast<int16_t>(api), errors.size(),
                                            errors.data());
    Reply(res, 200,
          {{"ok", true}, {"api", api}, {"error", rd_kafka_err2name(err)}, {"count", count}});
  });

  Post(*server_, "/topics", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.get_param_value("name");
    long partitions = 0;
    if (name.empty()) return BadRequest(res, "TOPIC", "name is required");
    if (!ParseNumber(req.get_param_value("partitions"), &partitions) || partitions < 1 ||
        partitions > 10000) {
      return BadRequest(res, "PARTITIONS", "partitions must be 1..10000");
    }
    ReplyResult(
        res, rd_kafka_mock_topic_create(cluster_, name.c_str(), static_cast<int>(partitions), 1));
  });

  // Other paths: without these, httplib would wait for a length-less body before its 404.
  server_->Post(".*", IgnoringBody(NotFound));
  server_->Put(".*", IgnoringBody(NotFound));
  server_->Patch(".*", IgnoringBody(NotFound));
  server_->Delete(".*", IgnoringBody(NotFound));

  // Errors that httplib answers itself (unknown GET paths, unparsable requests) get JSON too.
  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404) return NotFound(req, res);
    if (res.body.empty()) {
      Reply(res, res.status,
            {{"error", {{"code", ErrorCode(res.status)}, {"message", "unreadable request"}}}});
    }
  });

  return StartHttpServer(*server_, listen, thread_);
}

}  // namespace cdc::devbroker
