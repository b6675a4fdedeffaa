#include "common/host_port.h"

#include <charconv>

#include "common/error.h"

namespace cdc {

HostPort ParseHostPort(std::string_view text) {
  auto fail = [&]() -> HostPort {
    throw PermanentError(
        "ADDRESS", "expected HOST:PORT with a port 0-65535, got \"" + std::string(text) + "\"");
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return fail();
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']') return fail();
    host = host.substr(1, host.size() - 2);
  }
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535) {
    return fail();
  }
  return HostPort{std::string(host), static_cast<uint16_t>(port)};
}

}  // namespace cdc
