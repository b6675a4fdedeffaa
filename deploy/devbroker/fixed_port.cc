#include "deploy/devbroker/fixed_port.h"

#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace {

std::atomic<int> g_requested_port{0};  // > 0 while a FixedPortScope waits for its bind
std::atomic<bool> g_applied{false};
std::atomic<int> g_bind_errno{0};

using BindFn = int (*)(int, const struct sockaddr*, socklen_t);

BindFn RealBind() {
  static const BindFn real = reinterpret_cast<BindFn>(dlsym(RTLD_NEXT, "bind"));
  return real;
}

}  // namespace

// Interposed for the whole process (librdkafka's calls resolve here first).
extern "C" int bind(int fd, const struct sockaddr* addr, socklen_t len) {
  const int requested = g_requested_port.load();
  if (requested > 0 && addr != nullptr && addr->sa_family == AF_INET &&
      len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in rewritten;
    std::memcpy(&rewritten, addr, sizeof(rewritten));
    if (rewritten.sin_port == 0) {
      int expected = requested;
      if (g_requested_port.compare_exchange_strong(expected, 0)) {
        rewritten.sin_port = htons(static_cast<uint16_t>(requested));
        const int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        const int rc = RealBind()(fd, reinterpret_cast<const sockaddr*>(&rewritten),
                                  sizeof(rewritten));
        if (rc == 0) {
          g_applied.store(true);
        } else {
          g_bind_errno.store(errno);
        }
        return rc;
      }
    }
  }
  return RealBind()(fd, addr, len);
}

namespace cdc::devbroker {

FixedPortScope::FixedPortScope(uint16_t port) {
  g_applied.store(false);
  g_bind_errno.store(0);
  g_requested_port.store(port);
}

FixedPortScope::~FixedPortScope() { g_requested_port.store(0); }

bool FixedPortScope::applied() const { return g_applied.load(); }

int FixedPortScope::bind_errno() const { return g_bind_errno.load(); }

}  // namespace cdc::devbroker
