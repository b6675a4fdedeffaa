// One place for running cpp-httplib servers (Debian builds the library with defaults tuned for
// neither throughput nor safety): TCP_NODELAY, long keep-alive, a sized thread pool, an
// exclusive port (SO_REUSEADDR only — httplib's default also sets SO_REUSEPORT, which would let a
// second process silently share the port), and a start that returns only once the server runs.
#pragma once

#include <cstdint>
#include <thread>

#include "common/host_port.h"

namespace httplib {
class Server;
}

namespace cdc {

void TuneHttpServer(httplib::Server& server, int threads);

// Binds `listen` (port 0 = any free port), starts `server` on `thread`, and returns the bound
// port once the server is running (so that a later stop() cannot race the start).
// Throws FatalError("LISTEN") when the address cannot be bound.
uint16_t StartHttpServer(httplib::Server& server, const HostPort& listen, std::thread& thread);

// Stops a server started by StartHttpServer and joins its thread. Safe to call twice.
void StopHttpServer(httplib::Server* server, std::thread& thread);

}  // namespace cdc
