// cdc-api's HTTP/1.1 server over real loopback sockets: pipelining in order across the
// lanes, long waits apart from queries, requests split across packets, by-key batching, a hung
// batch not stalling the loop, protocol errors closing the connection, stop.
#include "api/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace cdc::api {
namespace {

class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    timeval timeout{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~Client() { close(fd_); }
  void Send(std::string_view text) {
    ASSERT_EQ(send(fd_, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
  }
  void HalfClose() { shutdown(fd_, SHUT_WR); }
  // The next response's status and body (for HEAD: its Content-Length as the body); status 0
  // when the connection closed first.
  std::pair<int, std::string> Read(bool head = false) {
    while (true) {
      const size_t head_end = buffer_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const size_t at = buffer_.find("Content-Length: ");
        const size_t declared = std::stoul(buffer_.substr(at + 16));
        if (head) {
          buffer_.erase(0, head_end + 4);
          return {200, std::to_string(declared)};
        }
        const size_t length = declared;
        if (buffer_.size() >= head_end + 4 + length) {
          const int status = std::stoi(buffer_.substr(9, 3));
          std::string body = buffer_.substr(head_end + 4, length);
          buffer_.erase(0, head_end + 4 + length);
          return {status, body};
        }
      }
      char chunk[4096];
      const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) return {0, ""};
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }
  bool ClosedByPeer() {
    char c;
    return recv(fd_, &c, 1, 0) == 0;
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  // The handlers use the members below: stop the threads before those go.
  void TearDown() override {
    if (server_) server_->Stop();
  }
  void StartServer(int io_threads = 1) {
    HttpServer::Options options;
    options.listen = {"127.0.0.1", 0};
    options.io_threads = io_threads;
    options.query_workers = 2;
    options.wait_workers = 3;
    options.limits.max_header_bytes = 1024;
    HttpServer::Handlers handlers;
    handlers.lane = [](const HttpRequest& req) {
      if (req.path.rfind("/batch", 0) == 0) return HttpServer::Lane::kBatch;
      if (req.path.rfind("/slow", 0) == 0) return HttpServer::Lane::kWorker;
      if (req.path.rfind("/wait", 0) == 0) return HttpServer::Lane::kWait;
      return HttpServer::Lane::kInline;
    };
    handlers.serve = [this](const HttpRequest& req, HttpResponse& res) {
      if (req.path == "/slow/sleep") std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (req.path.rfind("/wait/hang", 0) == 0) {
        std::unique_lock lock(mutex_);
        released_cv_.wait(lock, [this] { return released_; });
      }
      const bool worker = req.path.rfind("/slow", 0) == 0 || req.path.rfind("/wait", 0) == 0;
      res.SetContent((worker ? "w:" : "i:") + req.path, "text/plain");
    };
    handlers.serve_batch = [this](std::span<const HttpRequest* const> requests,
                                  std::span<HttpResponse* const> responses) {
      {
        std::lock_guard lock(mutex_);
        batch_sizes_.push_back(requests.size());
      }
      if (first_batch_.exchange(false)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (requests[0]->path == "/batch/hang") {
        std::unique_lock lock(mutex_);
        released_cv_.wait(lock, [this] { return released_; });
      }
      for (size_t i = 0; i < requests.size(); ++i) {
        responses[i]->SetContent("b:" + requests[i]->path, "text/plain");
      }
    };
    handlers.protocol_error = [](int status, const HttpRequest&, HttpResponse& res) {
      res.SetContent("error " + std::to_string(status), "text/plain");
    };
    server_ = std::make_unique<HttpServer>(options, handlers);
    port_ = server_->Start();
  }

  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  std::mutex mutex_;
  std::vector<size_t> batch_sizes_;
  std::atomic<bool> first_batch_{true};
  std::condition_variable released_cv_;
  bool released_ = false;
};

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrderAcrossLanes) {
  StartServer();
  Client client(port_);
  client.Send(
      "GET /slow/sleep HTTP/1.1\r\n\r\nGET /a HTTP/1.1\r\n\r\nGET /batch/1 HTTP/1.1\r\n\r\n"
      "GET /slow/x HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n");
  EXPECT_EQ(client.Read(), std::make_pair(200, std::string("w:/slow/sleep")));
  EXPECT_EQ(client.Read(), std::make_pair(200, std::string("i:/a")));
  EXPECT_EQ(client.Read(), std::make_pair(200, std::string("b:/batch/1")));
  EXPECT_EQ(client.Read(), std::make_pair(200, std::string("w:/slow/x")));
  // HEAD: the length of the body that is not sent; the next answer follows directly.
  EXPECT_EQ(client.Read(true), std::make_pair(200, std::string("4")));
  EXPECT_EQ(client.Read(), std::make_pair(200, std::string("i:/c")));
}

TEST_F(HttpServerTest, ARequestSplitAcrossManyPacketsIsAnswered) {
  StartServer();
  Client client(port_);
  const std::string request = "GET /slow/split?x=1 HTTP/1.1\r\nHost: h\r\n\r\n";
  for (const char c : request) {
    client.Send(std::string_view(&c, 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(client.Read(), std::make_pair(200, std::string("w:/slow/split")));
}

TEST_F(HttpServerTest, ReadsByKeyArrivingTogetherAreAnsweredInOneBatch) {
  StartServer();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(std::make_unique<Client>(port_));
  // The first batch holds the loop for 100 ms; the other seven arrive meanwhile.
  clients[0]->Send("GET /batch/0 HTTP/1.1\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (int i = 1; i < 8; ++i) {
    clients[i]->Send("GET /batch/" + std::to_string(i) + " HTTP/1.1\r\n\r\n");
  }
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(clients[i]->Read(), std::make_pair(200, "b:/batch/" + std::to_string(i)));
  }
  // Normally [1, 7]; a slow machine may put more into the first.
  std::lock_guard lock(mutex_);
  size_t total = 0;
  for (const size_t size : batch_sizes_) total += size;
  EXPECT_EQ(total, 8u);
  EXPECT_LE(batch_sizes_.size(), 2u);
}

// A batch waiting on a database that hangs must not stall the loop: /health and errors on the
// same I/O thread still answer at once, and the hung requests are answered when it returns.
TEST_F(HttpServerTest, AHangingBatchDoesNotStallTheLoop) {
  StartServer(1);
  first_batch_ = false;
  Client hung(port_);
  hung.Send("GET /batch/hang HTTP/1.1\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Client queued(port_);
  queued.Send("GET /batch/queued HTTP/1.1\r\n\r\n");
  Client health(port_);
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    health.Send("GET /health HTTP/1.1\r\n\r\n");
    EXPECT_EQ(health.Read(), std::make_pair(200, std::string("i:/health")));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  {
    std::lock_guard lock(mutex_);
    released_ = true;
  }
  released_cv_.notify_all();
  EXPECT_EQ(hung.Read(), std::make_pair(200, std::string("b:/batch/hang")));
  EXPECT_EQ(queued.Read(), std::make_pair(200, std::string("b:/batch/queued")));
}

TEST_F(HttpServerTest, LongWaitsDoNotTakeTheQueryWorkers) {
  StartServer(1);
  // Every wait worker hangs (long-polls), and one more wait is queued behind them.
  std::vector<std::unique_ptr<Client>> waiting;
  for (int i = 0; i < 4; ++i) {
    waiting.push_back(std::make_unique<Client>(port_));
    waiting.back()->Send("GET /wait/hang" + std::to_string(i) + " HTTP/1.1\r\n\r\n");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Client query(port_);
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    query.Send("GET /slow/" + std::to_string(i) + " HTTP/1.1\r\n\r\n");
    EXPECT_EQ(query.Read(), std::make_pair(200, "w:/slow/" + std::to_string(i)));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  {
    std::lock_guard lock(mutex_);
    released_ = true;
  }
  released_cv_.notify_all();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(waiting[static_cast<size_t>(i)]->Read(),
              std::make_pair(200, "w:/wait/hang" + std::to_string(i)));
  }
}

TEST_F(HttpServerTest, ProtocolErrorsAreAnsweredAndCloseTheConnection) {
  StartServer();
  {
    Client client(port_);
    client.Send("GET / HTTP/1.1\r\nA: " + std::string(2000, 'x') + "\r\n\r\n");
    EXPECT_EQ(client.Read(), std::make_pair(431, std::string("error 431")));
    EXPECT_TRUE(client.ClosedByPeer());
  }
  {
    Client client(port_);
    client.Send("BROKEN\r\n\r\n");
    EXPECT_EQ(client.Read(), std::make_pair(400, std::string("error 400")));
    EXPECT_TRUE(client.ClosedByPeer());
  }
  {
    Client client(port_);
    client.Send("GET /a HTTP/1.1\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(client.Read(), std::make_pair(200, std::string("i:/a")));
    EXPECT_TRUE(client.ClosedByPeer());
  }
  // A client that half-closes after its request still gets the answer.
  {
    Client client(port_);
    client.Send("GET /slow/sleep HTTP/1.1\r\n\r\n");
    client.HalfClose();
    EXPECT_EQ(client.Read(), std::make_pair(200, std::string("w:/slow/sleep")));
  }
}

TEST_F(HttpServerTest, StopClosesEveryConnectionOfEveryLoop) {
  StartServer(2);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<Client>(port_));
    clients.back()->Send("GET /slow/x HTTP/1.1\r\n\r\n");
    EXPECT_EQ(clients.back()->Read(), std::make_pair(200, std::string("w:/slow/x")));
  }
  EXPECT_EQ(server_->connections(), 6);
  const auto started = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_EQ(server_->connections(), 0);
  for (auto& client : clients) EXPECT_TRUE(client->ClosedByPeer());
  server_->Stop();  // twice is fine
}

}  // namespace
}  // namespace cdc::api
