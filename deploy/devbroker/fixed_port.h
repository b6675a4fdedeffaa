// librdkafka 2.0.2's mock cluster always binds its brokers to 127.0.0.1 port 0 and offers no API
// to choose the port (and aborts if a bind fails). This executable interposes bind(): a
// FixedPortScope binds the requested port itself first, so a busy port is reported cleanly
// before the cluster exists; then, while the scope is alive, the first IPv4 bind to port 0 is
// answered by moving that pre-bound socket onto the caller's descriptor. Every other bind is
// untouched.
#pragma once

#include <cstdint>

namespace cdc::devbroker {

class FixedPortScope {
 public:
  // port 0 = no rewrite. Binds 127.0.0.1:port immediately.
  explicit FixedPortScope(uint16_t port);
  ~FixedPortScope();
  FixedPortScope(const FixedPortScope&) = delete;
  FixedPortScope& operator=(const FixedPortScope&) = delete;

  // False when the port could not be bound (see bind_errno()).
  bool ok() const { return bind_errno_ == 0; }
  int bind_errno() const { return bind_errno_; }
  // True once the pre-bound socket was handed to a bind() call.
  bool applied() const;

 private:
  int bind_errno_ = 0;
};

}  // namespace cdc::devbroker
