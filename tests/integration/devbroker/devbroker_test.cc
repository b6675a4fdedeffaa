// cdc-devbroker as a process: its command line, fixed port, control endpoint, and kcat interop.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <sstream>

#include "tests/harness/dev_broker.h"
#include "tests/harness/process.h"

namespace cdc::testing {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(DevBroker, ListensOnTheRequestedPortAndWritesBootstrapFile) {
  TempDir dir;
  const uint16_t port = FreePort();
  Process broker({DevBrokerPath(), "--listen", "127.0.0.1:" + std::to_string(port),
                  "--bootstrap-file", dir.File("bootstrap")});
  const std::optional<std::string> line = broker.ReadLine(std::chrono::seconds(15));
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(*line, "bootstrap=127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(ReadFile(dir.File("bootstrap")), *line + "\n");
  std::string metadata;
  ASSERT_EQ(RunShell("kcat -b 127.0.0.1:" + std::to_string(port) + " -L -m 10", &metadata), 0)
      << metadata;
  EXPECT_THAT(metadata, HasSubstr("broker 1 at 127.0.0.1:" + std::to_string(port)));
  EXPECT_EQ(broker.Stop(SIGTERM), 0);  // clean exit on SIGTERM
}

TEST(DevBroker, SigintAlsoExitsCleanly) {
  const uint16_t port = FreePort();
  Process broker({DevBrokerPath(), "--listen", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(broker.ReadLine(std::chrono::seconds(15)).has_value());
  EXPECT_EQ(broker.Stop(SIGINT), 0);
}

TEST(DevBroker, BusyPortFailsWithAClearMessage) {
  DevBroker first;
  TempDir dir;
  Process second({DevBrokerPath(), "--listen", "127.0.0.1:" + std::to_string(first.port())},
                 dir.File("stderr"));
  const std::optional<int> status = second.Wait(std::chrono::seconds(15));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 1);
  EXPECT_THAT(ReadFile(dir.File("stderr")), HasSubstr("cannot listen on 127.0.0.1:"));
}

TEST(DevBroker, UsageErrorsExitWithCode2) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--listen", "10.0.0.1:9092"},
        std::vector<std::string>{"--listen", "nonsense"},
        std::vector<std::string>{"--brokers", "0"},
        std::vector<std::string>{"--topic", "orders:zero"},
        std::vector<std::string>{"--no-such-flag"}}) {
    std::vector<std::string> argv = {DevBrokerPath()};
    argv.insert(argv.end(), args.begin(), args.end());
    TempDir dir;
    Process process(argv, dir.File("stderr"));
    const std::optional<int> status = process.Wait(std::chrono::seconds(10));
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 2) << args[0] << " " << (args.size() > 1 ? args[1] : "");
    EXPECT_FALSE(ReadFile(dir.File("stderr")).empty());
  }
}

TEST(DevBroker, HelpDocumentsTheControlEndpoint) {
  std::string help;
  ASSERT_EQ(RunShell(DevBrokerPath() + " --help", &help), 0);
  EXPECT_THAT(help, HasSubstr("/brokers/{id}/down"));
  EXPECT_THAT(help, HasSubstr("/errors?api="));
  EXPECT_THAT(help, HasSubstr("--listen"));
}

TEST(DevBroker, PreCreatedTopicsGetTheirPartitionCounts) {
  DevBroker broker({"--topic", "orders:3", "--topic", "lines", "--partitions", "5"});
  std::string metadata;
  ASSERT_EQ(RunShell("kcat -b " + broker.bootstrap() + " -L -m 10", &metadata), 0);
  EXPECT_THAT(metadata, HasSubstr("topic \"orders\" with 3 partitions"));
  EXPECT_THAT(metadata, HasSubstr("topic \"lines\" with 5 partitions"));
  broker.CreateTopic("made_later", 2);
  ASSERT_EQ(RunShell("kcat -b " + broker.bootstrap() + " -L -m 10 -t made_later", &metadata), 0);
  EXPECT_THAT(metadata, HasSubstr("topic \"made_later\" with 2 partitions"));
}

TEST(DevBroker, ControlRejectsBadRequestsWith400) {
  DevBroker broker;
  std::string body;
  EXPECT_EQ(broker.Control("POST", "/brokers/9/down", &body), 400);
  EXPECT_THAT(body, HasSubstr("BROKER"));
  EXPECT_EQ(broker.Control("POST", "/errors?api=Nope&error=NOT_ENOUGH_REPLICAS", &body), 400);
  EXPECT_EQ(broker.Control("POST", "/errors?api=Produce&error=NOPE", &body), 400);
  EXPECT_EQ(broker.Control("POST", "/topics?name=x&partitions=0", &body), 400);
  EXPECT_EQ(broker.Control("GET", "/nope", &body), 404);
  EXPECT_EQ(broker.Control("GET", "/status", &body), 200);
  EXPECT_THAT(body, HasSubstr(broker.bootstrap()));
}

TEST(DevBroker, KcatProducesAndConsumesKeyedMessagesWithHeaders) {
  DevBroker broker({"--topic", "kc:2"});
  const std::string b = broker.bootstrap();
  ASSERT_EQ(RunShell("printf 'k1:v1\\nk2:v2\\nk1:v3\\n' | kcat -b " + b +
                     " -P -t kc -K: -H source=test -H trace=abc"),
            0);
  std::string out;
  ASSERT_EQ(
      RunShell("kcat -b " + b +
                   " -C -t kc -o beginning -e -q -f '%k|%s|%h|%p|%o\\n' | sort -t'|' -k4,4 -k5,5n",
               &out),
      0)
      << out;
  std::istringstream lines(out);
  std::string line;
  std::vector<std::string> rows;
  while (std::getline(lines, line)) rows.push_back(line);
  ASSERT_EQ(rows.size(), 3u) << out;
  // The same key lands on the same partition, in order, with headers intact.
  std::map<std::string, std::vector<std::string>> by_key;
  for (const std::string& row : rows) {
    EXPECT_THAT(row, HasSubstr("|source=test,trace=abc|"));
    by_key[row.substr(0, row.find('|'))].push_back(row);
  }
  ASSERT_EQ(by_key["k1"].size(), 2u);
  const auto partition_of = [](const std::string& row) {
    std::vector<std::string> parts;
    std::istringstream in(row);
    for (std::string p; std::getline(in, p, '|');) parts.push_back(p);
    return parts[3];
  };
  EXPECT_EQ(partition_of(by_key["k1"][0]), partition_of(by_key["k1"][1]));
  EXPECT_THAT(by_key["k1"][0], HasSubstr("k1|v1|"));
  EXPECT_THAT(by_key["k1"][1], HasSubstr("k1|v3|"));
}

}  // namespace
}  // namespace cdc::testing
