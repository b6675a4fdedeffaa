// "host:port" listen/connect addresses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cdc {

struct HostPort {
  std::string host;
  uint16_t port = 0;

  std::string ToString() const { return host + ":" + std::to_string(port); }
};

// Parses "host:port" or "[v6]:port"; port 0 is allowed (pick a free port). Throws PermanentError
// (code "ADDRESS") naming the text when it does not parse.
HostPort ParseHostPort(std::string_view text);

}  // namespace cdc
