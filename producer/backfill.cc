#include "producer/backfill.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>
#include <thread>

#include "common/config/config.h"

namespace cdc::producer {
namespace {

using Clock = std::chrono::steady_clock;

metrics::CommandReply Reply(int status, const nlohmann::json& body) {
  return {status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

metrics::CommandReply ErrorReply(int status, const std::string& code, const std::string& message) {
  return Reply(status, {{"error", {{"code", code}, {"message", message}}}});
}

// The stream of the request's `table` parameter, or the error reply.
std::variant<TableStream*, metrics::CommandReply> Find(
    const StreamLookup& lookup, const std::map<std::string, std::string>& params) {
  const auto table = params.find("table");
  if (table == params.end() || table->second.empty()) {
    return ErrorReply(400, "BAD_REQUEST", "the table parameter is required");
  }
  const std::optional<TableStream*> stream = lookup(table->second);
  if (!stream) return ErrorReply(503, "STARTING", "the producer is starting; ask again");
  if (*stream == nullptr) {
    return ErrorReply(404, "NOT_FOUND",
                      "this producer does not stream table \"" + table->second + "\"");
  }
  return *stream;
}

std::string QueryEscape(const std::string& text) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

// The JSON body of a 2xx answer, or nullopt (printed to `progress`) for anything else.
std::optional<nlohmann::json> Body(const httplib::Result& result, const HostPort& address,
                                   std::ostream& progress) {
  if (!result) return std::nullopt;
  nlohmann::json body = nlohmann::json::parse(result->body, nullptr, false);
  if (result->status / 100 == 2 && body.is_object()) return body;
  std::string message = result->body;
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    message = body["error"].value("message", message);
  }
  progress << "cdc-producer: the producer at " << address.ToString() << " answered "
           << result->status << ": " << message << "\n";
  return std::nullopt;
}

}  // namespace

void AddBackfillCommands(metrics::StatusServer& server, StreamLookup lookup) {
  server.AddCommand("POST", "/snapshots", [lookup](const auto& params) {
    auto found = Find(lookup, params);
    if (auto* reply = std::get_if<metrics::CommandReply>(&found)) return *reply;
    TableStream* stream = std::get<TableStream*>(found);
    const int64_t id = stream->RequestBackfill();
    return Reply(202, {{"table", stream->name()},
                       {"id", id},
                       {"state", SnapshotStateName(stream->snapshot_status().state)}});
  });
  server.AddCommand("GET", "/snapshots", [lookup](const auto& params) {
    auto found = Find(lookup, params);
    if (auto* reply = std::get_if<metrics::CommandReply>(&found)) return *reply;
    TableStream* stream = std::get<TableStream*>(found);
    const SnapshotStatus status = stream->snapshot_status();
    return Reply(200, {{"table", stream->name()},
                       {"state", SnapshotStateName(status.state)},
                       {"id", status.id},
                       {"backfill", status.backfill},
                       {"rows", status.rows}});
  });
}

HostPort ProducerAddress(const ProducerSettings& settings, const std::optional<HostPort>& address) {
  if (address) return *address;
  HostPort listen = settings.metrics_listen;
  if (listen.port == 0) {
    throw config::ConfigError(
        {"producer.metrics_listen: port 0 (any free port) does not say where the running "
         "producer listens; pass --producer HOST:PORT"});
  }
  if (listen.host.empty() || listen.host == "0.0.0.0" || listen.host == "::") {
    listen.host = "127.0.0.1";
  }
  return listen;
}

int FollowBackfill(const HostPort& address, const std::string& table, const Logger& logger,
                   std::stop_token stop, std::ostream& progress) {
  httplib::Client client(address.host, address.port);
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(10));
  const std::string path = "/snapshots?table=" + QueryEscape(table);
  constexpr auto kPatience = std::chrono::minutes(1);
  Clock::time_point last_answer = Clock::now();
  // One exchange: the JSON body of a 2xx answer; nullopt while the producer is starting or not
  // answering (`failed` stays false) or when it refused (`failed` set, the reason printed).
  bool answered = false;  // a producer that never answered is not waited for
  auto exchange = [&](bool post, bool& failed) -> std::optional<nlohmann::json> {
    httplib::Result result = post ? client.Post(path, "", "application/json") : client.Get(path);
    if (!result || result->status == 503) {
      if ((!result && !answered) || Clock::now() - last_answer > kPatience) {
        progress << "cdc-producer: no producer answers at " << address.ToString()
                 << " (producer.metrics_listen, or --producer): a backfill runs inside the "
                    "running producer, so that its events keep their order with the stream; "
                    "start `cdc-producer run` (a backfill in progress resumes with it)\n";
        failed = true;
      }
      return std::nullopt;
    }
    last_answer = Clock::now();
    answered = true;
    std::optional<nlohmann::json> body = Body(result, address, progress);
    failed = !body;
    return body;
  };
  auto request = [&]() -> std::optional<int64_t> {
    for (bool failed = false; !failed && !stop.stop_requested();) {
      const std::optional<nlohmann::json> body = exchange(true, failed);
      if (body && (*body)["id"].is_number_integer()) return (*body)["id"].get<int64_t>();
      if (body) failed = true;
      if (!failed) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return std::nullopt;
  };
  std::optional<int64_t> id = request();
  if (!id) return 1;
  logger.Info("backfill requested", {{"table", table}, {"id", *id}});

  const Clock::time_point started = Clock::now();
  Clock::time_point last_progress = started;
  Clock::time_point not_running_since = Clock::time_point::max();
  int64_t first_rows = -1;
  while (!stop.stop_requested()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    const Clock::time_point now = Clock::now();
    bool failed = false;
    const std::optional<nlohmann::json> body = exchange(false, failed);
    if (failed) return 1;
    if (!body) continue;  // starting or restarting: the backfill is checkpointed and resumes
    const std::string state = body->value("state", "none");
    const int64_t status_id = body->value("id", int64_t{0});
    const int64_t rows = body->value("rows", int64_t{0});
    const bool ours = status_id >= *id;
    if (state == "running" && ours && first_rows < 0) first_rows = rows;
    const bool done = state == "done" && ours;
    if (done || now - last_progress >= std::chrono::seconds(2)) {
      last_progress = now;
      const double elapsed = std::chrono::duration<double>(now - started).count();
      const double rate =
          elapsed > 0 ? static_cast<double>(rows - std::max<int64_t>(first_rows, 0)) / elapsed : 0;
      char line[256];
      std::snprintf(line, sizeof line, "snapshot %s: %lld rows, %.0f rows/s, %.1f s elapsed%s\n",
                    table.c_str(), static_cast<long long>(ours ? rows : 0), rate, elapsed,
                    done ? " (done)" : "");
      progress << line << std::flush;
    }
    if (done) return 0;
    // Neither running nor done under our id for a while: a restart or a failed delivery rewound
    // the producer to a checkpoint from before the request. Ask again.
    if (state == "running" && ours) {
      not_running_since = Clock::time_point::max();
    } else if (not_running_since == Clock::time_point::max()) {
      not_running_since = now;
    } else if (now - not_running_since > std::chrono::seconds(10)) {
      id = request();
      if (!id) return 1;
      not_running_since = Clock::time_point::max();
    }
  }
  return 1;
}

}  // namespace cdc::producer
