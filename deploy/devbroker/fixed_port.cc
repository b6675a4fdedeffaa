#include "deploy/devbroker/fixed_port.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace {

std::atomic<int> g_prebound_fd{-1};  // >= 0 while a FixedPortScope waits for its bind
std::atomic<bool> g_applied{false};

using BindFn = int (*)(int, const struct sockaddr*, socklen_t);

BindFn RealBind() {
  static const BindFn kRealBind = reinterpret_cast<BindFn>(dlsym(RTLD_NEXT, "bind"));
  return kRealBind;
}

}  // namespace

// Interposed for the whole process (librdkafka's calls resolve here first).
extern "C" int bind(int fd, const struct sockaddr* addr, socklen_t len) {
  if (g_prebound_fd.load() >= 0 && addr != nullptr && addr->sa_family == AF_INET &&
      len >= static_cast<socklen_t>(sizeof(sockaddr_in)) &&
      reinterpret_cast<const sockaddr_in*>(addr)->sin_port == 0) {
    const int prebound = g_prebound_fd.exchange(-1);
    if (prebound >= 0) {
      // Keep the caller's descriptor flags (non-blocking, close-on-exec) on the moved socket.
      const int status_flags = fcntl(fd, F_GETFL);
      const int fd_flags = fcntl(fd, F_GETFD);
      if (dup2(prebound, fd) < 0) {
        const int saved = errno;
        close(prebound);
        errno = saved;
        return -1;
      }
      close(prebound);
      if (status_flags >= 0) fcntl(fd, F_SETFL, status_flags);
      if (fd_flags >= 0) fcntl(fd, F_SETFD, fd_flags);
      g_applied.store(true);
      return 0;
    }
  }
  return RealBind()(fd, addr, len);
}

namespace cdc::devbroker {

FixedPortScope::FixedPortScope(uint16_t port) {
  g_applied.store(false);
  if (port == 0) return;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    bind_errno_ = errno;
    return;
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (RealBind()(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    bind_errno_ = errno;
    close(fd);
    return;
  }
  g_prebound_fd.store(fd);
}

FixedPortScope::~FixedPortScope() {
  const int unused = g_prebound_fd.exchange(-1);
  if (unused >= 0) close(unused);
}

bool FixedPortScope::applied() const { return g_applied.load(); }

}  // namespace cdc::devbroker
