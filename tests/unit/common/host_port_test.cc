#include "common/host_port.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace cdc {
namespace {

TEST(ParseHostPort, ParsesHostAndPort) {
  const HostPort a = ParseHostPort("127.0.0.1:9092");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 9092);
  EXPECT_EQ(ParseHostPort("localhost:0").port, 0);
  EXPECT_EQ(ParseHostPort("[::1]:8080").host, "::1");
  EXPECT_EQ(ParseHostPort("0.0.0.0:65535").ToString(), "0.0.0.0:65535");
}

TEST(ParseHostPort, RejectsMalformedAddresses) {
  for (const char* bad :
       {"", "9092", ":9092", "host:", "host:65536", "host:-1", "host:9x", "[::1:80"}) {
    EXPECT_THROW(ParseHostPort(bad), PermanentError) << bad;
  }
}

}  // namespace
}  // namespace cdc
