// The harness tears its services down even when the test process is killed outright: the
// PostgreSQL cluster by its Reaper, the dev broker by PR_SET_PDEATHSIG.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <thread>

#include "tests/harness/process.h"

namespace cdc::testing {
namespace {

bool PortAccepts(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

bool Alive(pid_t pid) { return kill(pid, 0) == 0; }

template <typename Predicate>
bool Eventually(Predicate predicate, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return predicate();
}

TEST(HarnessCleanup, KilledTestProcessLeavesNoServersBehind) {
  Process holder({CDC_SERVICE_HOLDER_PATH});
  std::map<std::string, std::string> info;
  while (true) {
    std::optional<std::string> line = holder.ReadLine(std::chrono::seconds(60));
    ASSERT_TRUE(line.has_value()) << "service holder did not start";
    if (*line == "ready") break;
    info[line->substr(0, line->find('='))] = line->substr(line->find('=') + 1);
  }
  const auto pg_port = static_cast<uint16_t>(std::stoi(info.at("pg_port")));
  const auto broker_port = static_cast<uint16_t>(std::stoi(info.at("broker_port")));
  const pid_t broker_pid = std::stoi(info.at("broker_pid"));
  const std::string pg_dir = info.at("pg_dir");
  const std::string broker_dir = info.at("broker_dir");
  ASSERT_TRUE(PortAccepts(pg_port));
  ASSERT_TRUE(PortAccepts(broker_port));
  ASSERT_TRUE(std::filesystem::exists(pg_dir));

  holder.Stop(SIGKILL);  // no destructor runs in the holder

  EXPECT_TRUE(Eventually([&] { return !Alive(broker_pid); }, std::chrono::seconds(10)));
  // Within seconds: long before PostgreSQL would notice its lock file is gone (60 s checks).
  EXPECT_TRUE(Eventually([&] { return !PortAccepts(pg_port); }, std::chrono::seconds(10)));
  EXPECT_TRUE(
      Eventually([&] { return !std::filesystem::exists(pg_dir); }, std::chrono::seconds(30)));
  EXPECT_FALSE(PortAccepts(broker_port));
  EXPECT_TRUE(
      Eventually([&] { return !std::filesystem::exists(broker_dir); }, std::chrono::seconds(10)));
}

}  // namespace
}  // namespace cdc::testing
