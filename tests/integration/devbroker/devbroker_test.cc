// cdc-devbroker as a process: its command line, fixed port, control endpoint, and kcat interop.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
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

// cdc-devbroker on free ports, started directly so that its control address is known.
class ControlledBroker {
 public:
  ControlledBroker() : process_({DevBrokerPath(), "--listen", "127.0.0.1:0"}) {
    for (int i = 0; i < 2; ++i) {
      const std::optional<std::string> line = process_.ReadLine(std::chrono::seconds(15));
      if (!line) throw std::runtime_error("cdc-devbroker printed no addresses");
      if (line->starts_with("bootstrap=")) bootstrap_ = line->substr(10);
      if (line->starts_with("control=")) control_ = line->substr(8);
    }
  }
  const std::string& bootstrap() const { return bootstrap_; }
  const std::string& control() const { return control_; }  // HOST:PORT
  uint16_t control_port() const {
    return static_cast<uint16_t>(std::stoi(control_.substr(control_.rfind(':') + 1)));
  }
  // True when a Kafka client gets metadata from the (first) broker within 2 s.
  bool Reachable() const {
    return RunShell("kcat -b " + bootstrap_ + " -L -m 2 >/dev/null 2>&1") == 0;
  }

 private:
  Process process_;
  std::string bootstrap_;
  std::string control_;
};

struct RawResponse {
  int status = 0;  // 0: the connection closed, or no response within 10 s
  std::string body;
};

// A TCP connection to the control endpoint that sends requests byte for byte (httplib's client
// would add a Content-Length) and reads responses framed by their Content-Length.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    const timeval timeout{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
      const int error = errno;
      close(fd_);
      throw std::runtime_error("cannot connect to the control endpoint: " +
                               std::string(std::strerror(error)));
    }
  }
  ~RawConnection() { close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Sends `request` and reads one response.
  RawResponse Exchange(const std::string& request) {
    // The server may answer and close before all of a bad request is sent.
    (void)send(fd_, request.data(), request.size(), MSG_NOSIGNAL);
    RawResponse response;
    size_t head_end = std::string::npos;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Receive()) return response;
    }
    const std::string head = buffer_.substr(0, head_end);
    size_t length = 0;
    const size_t field = head.find("Content-Length: ");
    if (field != std::string::npos) length = std::stoul(head.substr(field + 16));
    while (buffer_.size() < head_end + 4 + length) {
      if (!Receive()) return response;
    }
    response.status = std::stoi(head.substr(head.find(' ') + 1, 3));
    response.body = buffer_.substr(head_end + 4, length);
    buffer_.erase(0, head_end + 4 + length);
    return response;
  }

 private:
  bool Receive() {
    char chunk[4096];
    const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  const int fd_;
  std::string buffer_;
};

// A POST request head for `path` with `headers` (each ending in CRLF) and then `body`.
std::string RawPost(const std::string& path, const std::string& headers = "",
                    const std::string& body = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + "\r\n" + body;
}

// Sends `request` on a new connection; the answer must come at once (httplib waits 5 s for a
// body it should not expect).
RawResponse ExchangeOnce(uint16_t port, const std::string& request) {
  RawConnection connection(port);
  const auto start = std::chrono::steady_clock::now();
  RawResponse response = connection.Exchange(request);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3))
      << request.substr(0, 60);
  return response;
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

TEST(DevBroker, ControlPostWithoutContentLengthOrBodyTakesBrokerDownAndUp) {
  ControlledBroker broker;
  const RawResponse down = ExchangeOnce(broker.control_port(), RawPost("/brokers/1/down"));
  EXPECT_EQ(down.status, 200) << down.body;
  EXPECT_THAT(down.body, HasSubstr("\"ok\":true"));
  EXPECT_FALSE(broker.Reachable());
  const RawResponse up = ExchangeOnce(broker.control_port(), RawPost("/brokers/1/up"));
  EXPECT_EQ(up.status, 200) << up.body;
  EXPECT_TRUE(broker.Reachable());
}

TEST(DevBroker, ControlPostWithContentLengthZeroTakesBrokerDownAndUp) {
  ControlledBroker broker;
  const std::string empty = "Content-Length: 0\r\n";
  EXPECT_EQ(ExchangeOnce(broker.control_port(), RawPost("/brokers/1/down", empty)).status, 200);
  EXPECT_FALSE(broker.Reachable());
  EXPECT_EQ(ExchangeOnce(broker.control_port(), RawPost("/brokers/1/up", empty)).status, 200);
  EXPECT_TRUE(broker.Reachable());
}

TEST(DevBroker, ControlIgnoresSmallBodies) {
  ControlledBroker broker;
  const RawResponse down = ExchangeOnce(
      broker.control_port(), RawPost("/brokers/1/down", "Content-Length: 5\r\n", "hello"));
  EXPECT_EQ(down.status, 200) << down.body;
  EXPECT_FALSE(broker.Reachable());
  const RawResponse up = ExchangeOnce(
      broker.control_port(),
      RawPost("/brokers/1/up", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"));
  EXPECT_EQ(up.status, 200) << up.body;
  EXPECT_TRUE(broker.Reachable());
}

TEST(DevBroker, ControlAcceptsBodilessPostOnEveryRoute) {
  ControlledBroker broker;
  for (const std::string path :
       {"/brokers/1/rtt?ms=0", "/errors?api=Produce&error=NOT_ENOUGH_REPLICAS&count=1",
        "/topics?name=bodiless&partitions=3"}) {
    const RawResponse response = ExchangeOnce(broker.control_port(), RawPost(path));
    EXPECT_EQ(response.status, 200) << path << ": " << response.body;
  }
  std::string metadata;
  ASSERT_EQ(RunShell("kcat -b " + broker.bootstrap() + " -L -m 10 -t bodiless", &metadata), 0);
  EXPECT_THAT(metadata, HasSubstr("topic \"bodiless\" with 3 partitions"));
  const RawResponse unknown = ExchangeOnce(broker.control_port(), RawPost("/nope"));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_THAT(unknown.body, HasSubstr("NOT_FOUND"));
}

TEST(DevBroker, ControlAnswersSeveralRequestsOnOneKeepAliveConnection) {
  ControlledBroker broker;
  RawConnection connection(broker.control_port());
  EXPECT_EQ(connection.Exchange(RawPost("/brokers/1/down")).status, 200);
  EXPECT_FALSE(broker.Reachable());
  EXPECT_EQ(connection.Exchange(RawPost("/brokers/1/up", "Content-Length: 2\r\n", "{}")).status,
            200);
  EXPECT_TRUE(broker.Reachable());
  EXPECT_EQ(connection.Exchange("GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").status, 200);
}

TEST(DevBroker, ControlRejectsMalformedRequestsPromptly) {
  ControlledBroker broker;
  const uint16_t port = broker.control_port();
  for (const std::string& request :
       {std::string("GARBAGE\r\n\r\n"),
        RawPost("/brokers/1/down", "Transfer-Encoding: gzip\r\n", "xyz"),
        RawPost("/brokers/1/down", "Transfer-Encoding: chunked\r\n", "zz\r\n\r\n"),
        RawPost("/brokers/1/down", "Content-Length: 100000\r\n", std::string(100000, 'x')),
        RawPost("/brokers/1/down", "X-Long: " + std::string(20000, 'x') + "\r\n")}) {
    const RawResponse response = ExchangeOnce(port, request);
    EXPECT_GE(response.status, 400) << request.substr(0, 60);
    EXPECT_LT(response.status, 500) << request.substr(0, 60);
  }
  EXPECT_TRUE(broker.Reachable());  // none of them reached the broker
  const RawResponse garbage = ExchangeOnce(port, "GARBAGE\r\n\r\n");
  EXPECT_THAT(garbage.body, HasSubstr("\"error\":{\"code\":\"BAD_REQUEST\""));
}

TEST(DevBroker, ReadmeCurlFaultInjectionExampleWorks) {
  if (RunShell("command -v curl >/dev/null") != 0) GTEST_SKIP() << "curl is not installed";
  ControlledBroker broker;
  std::istringstream readme(ReadFile(std::string(CDC_SOURCE_DIR) + "/deploy/README.md"));
  std::vector<std::string> examples;
  for (std::string line; std::getline(readme, line);) {
    if (line.starts_with("curl -X POST \"http://$CONTROL/")) examples.push_back(line);
  }
  ASSERT_EQ(examples.size(), 2u);  // broker down, then Produce errors
  for (const std::string& example : examples) {
    std::string output;
    EXPECT_EQ(RunShell("CONTROL=" + broker.control() + "; " + example, &output), 0) << example;
    EXPECT_THAT(output, HasSubstr("\"ok\":true")) << example;
  }
  EXPECT_FALSE(broker.Reachable());
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
