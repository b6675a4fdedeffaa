// The embeddable HTTP endpoint of the producer and consumer: GET /metrics (Prometheus text
// 0.0.4), /health (200 while the process runs), /ready (200 or 503 with the reason from the
// readiness callback; a ready process may add a warning) and the operator commands a process
// adds (answered to clients on the same host only). Runs its own thread pool; Start() binds
// synchronously so a bad address is reported at start-up, Stop() (or the destructor) joins.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/host_port.h"
#include "common/log.h"
#include "common/metrics/registry.h"

namespace httplib {
class Server;
}

namespace cdc::metrics {

struct Readiness {
  bool ready = false;
  std::string reason;        // why not ready; empty when ready
  std::string warning = {};  // while ready: what runs degraded (served as "warning")
};

// An operator command's answer: an HTTP status and a JSON body.
struct CommandReply {
  int status = 200;
  std::string body;
};

class StatusServer {
 public:
  using ReadinessCheck = std::function<Readiness()>;

  // `registry` must outlive the server. `readiness` is called from server threads.
  StatusServer(const Registry& registry, ReadinessCheck readiness, Logger logger);
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  using CommandHandler =
      std::function<CommandReply(const std::map<std::string, std::string>& params)>;
  // Adds an operator command at `path` for `method` ("GET" or "POST"), called with the request's
  // query parameters from server threads. Before Start(). Only clients on this host are served
  // (loopback, or the address the server listens on); others get 403: the status port is often
  // reachable by a whole cluster for scraping.
  void AddCommand(const std::string& method, const std::string& path, CommandHandler handler);

  // Binds `listen` (port 0 = any free port) and starts serving. Throws FatalError (code "LISTEN")
  // when the address cannot be bound.
  void Start(const HostPort& listen);
  // The bound port (after Start).
  uint16_t port() const { return port_; }
  void Stop();

 private:
  // The readiness callback's answer; an exception is "not ready" with its message.
  Readiness Check() const;

  const Registry& registry_;
  const ReadinessCheck readiness_;
  const Logger logger_;
  struct Command {
    std::string method;
    std::string path;
    CommandHandler handler;
  };
  std::vector<Command> commands_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace cdc::metrics
