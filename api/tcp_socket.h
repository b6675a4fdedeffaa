// The TCP socket calls of cdc-api's HTTP server: the listening socket and a peer's address.
#pragma once

#include <cstdint>
#include <string>

#include "common/host_port.h"

namespace cdc::api {

struct ListeningSocket {
  int fd = -1;        // non-blocking, close-on-exec
  uint16_t port = 0;  // the bound port (where.port 0 picks a free one)
};

// Binds and listens on the first address `where` resolves to that accepts it. SO_REUSEADDR,
// not SO_REUSEPORT: a second server on the same port fails instead of sharing it. Throws
// FatalError("LISTEN").
ListeningSocket ListenTcp(const HostPort& where);

// The numeric address of a connected socket's peer, or "".
std::string PeerAddress(int fd);

}  // namespace cdc::api
