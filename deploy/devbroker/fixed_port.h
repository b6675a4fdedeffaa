// librdkafka 2.0.2's mock cluster always binds its brokers to 127.0.0.1 port 0 and offers no API
// to choose the port. This executable interposes bind(): while a FixedPortScope is alive, the
// first IPv4 bind to port 0 is rewritten to the requested port. Every other bind is untouched.
#pragma once

#include <cstdint>

namespace cdc::devbroker {

class FixedPortScope {
 public:
  explicit FixedPortScope(uint16_t port);  // port 0 = no rewrite
  ~FixedPortScope();
  // True when a bind was rewritten to the requested port and succeeded.
  bool applied() const;
  // errno of the rewritten bind when it failed (e.g. EADDRINUSE), else 0.
  int bind_errno() const;
};

}  // namespace cdc::devbroker
