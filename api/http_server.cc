#include "api/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <unordered_map>

#include "api/http_server_state.h"
#include "api/tcp_socket.h"
#include "common/error.h"

namespace cdc::api {
namespace {

constexpr uint64_t kListenId = 0;
constexpr uint64_t kWakeId = 1;
constexpr size_t kReadChunk = 16 * 1024;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

HttpServer::HttpServer(Options options, Handlers handlers)
    : options_(std::move(options)),
      handlers_(std::move(handlers)),
      query_workers_([this](Job& job) { Serve(job); }),
      wait_workers_([this](Job& job) { Serve(job); }) {}

HttpServer::~HttpServer() {
  Stop();
  for (auto& loop : loops_) {
    if (loop->epoll_fd >= 0) ::close(loop->epoll_fd);
    if (loop->wake_fd >= 0) ::close(loop->wake_fd);
  }
}

uint16_t HttpServer::Start() {
  const ListeningSocket listening = ListenTcp(options_.listen);
  listen_fd_ = listening.fd;
  const uint16_t bound_port = listening.port;
  const int io_threads = std::max(1, options_.io_threads);
  for (int i = 0; i < io_threads; ++i) {
    auto loop = std::make_unique<Loop>();
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->epoll_fd < 0 || loop->wake_fd < 0) {
      throw FatalError("LISTEN", std::string("cannot create an event loop: ") + strerror(errno));
    }
    epoll_event wake{};
    wake.events = EPOLLIN;
    wake.data.u64 = kWakeId;
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, loop->wake_fd, &wake);
    loops_.push_back(std::move(loop));
  }
  // The first loop accepts and deals connections out round-robin.
  epoll_event listen{};
  listen.events = EPOLLIN;
  listen.data.u64 = kListenId;
  epoll_ctl(loops_[0]->epoll_fd, EPOLL_CTL_ADD, listen_fd_, &listen);
  loops_[0]->listening = true;
  started_ = true;
  for (auto& loop : loops_) {
    threads_.emplace_back([this, l = loop.get()] { RunLoop(*l); });
    threads_.emplace_back([this, l = loop.get()] { RunBatches(*l); });
  }
  query_workers_.Start(options_.query_workers);
  wait_workers_.Start(options_.wait_workers);
  return bound_port;
}

void HttpServer::Stop() {
  if (!started_) return;
  started_ = false;
  stopping_.store(true);
  query_workers_.Stop();
  wait_workers_.Stop();
  for (auto& loop : loops_) {
    {
      std::lock_guard lock(loop->mutex);  // a batch thread checks stopping_ under it
    }
    loop->batch_ready.notify_all();
    Wake(*loop);
  }
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void HttpServer::Wake(Loop& loop) {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(loop.wake_fd, &one, sizeof(one));
}

void HttpServer::RunLoop(Loop& loop) {
  std::vector<epoll_event> events(256);
  while (!stopping_.load()) {
    const int n = epoll_wait(loop.epoll_fd, events.data(), static_cast<int>(events.size()), 500);
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[i].data.u64;
      if (id == kListenId) {
        Accept(loop);
        continue;
      }
      if (id == kWakeId) {
        uint64_t count = 0;
        [[maybe_unused]] const ssize_t r = ::read(loop.wake_fd, &count, sizeof(count));
        DrainCompletions(loop);
        continue;
      }
      const auto it = loop.connections.find(id);
      if (it == loop.connections.end()) continue;
      Connection& c = *it->second;
      if ((events[i].events & (EPOLLHUP | EPOLLERR)) != 0) {
        Close(loop, c);  // reset, or gone both ways: nothing can be written any more
        continue;
      }
      if ((events[i].events & EPOLLOUT) != 0 && !Flush(loop, c)) continue;
      if ((events[i].events & (EPOLLIN | EPOLLRDHUP)) != 0) OnReadable(loop, c);
    }
    AnswerBatch(loop);
    const int64_t now = NowMs();
    if (now - loop.last_sweep_ms >= 1000) {
      loop.last_sweep_ms = now;
      SweepIdle(loop);
    }
  }
  while (!loop.connections.empty()) Close(loop, *loop.connections.begin()->second);
  std::lock_guard lock(loop.mutex);
  for (const int fd : loop.adopted) ::close(fd);
  loop.adopted.clear();
}

void HttpServer::Accept(Loop& loop) {
  for (int accepted = 0; accepted < 64; ++accepted) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop watching the listener until the next sweep instead of
        // spinning on it; pending connections wait in the backlog.
        epoll_ctl(loop.epoll_fd, EPOLL_CTL_DEL, listen_fd_, nullptr);
        loop.listening = false;
      }
      return;
    }
    Loop& target = *loops_[next_loop_++ % loops_.size()];
    if (&target == &loop) {
      Adopt(loop, fd);
    } else {
      {
        std::lock_guard lock(target.mutex);
        target.adopted.push_back(fd);
      }
      Wake(target);
    }
  }
}

void HttpServer::Adopt(Loop& loop, int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  auto c = std::make_unique<Connection>();
  c->id = loop.next_id++;
  c->fd = fd;
  c->remote = PeerAddress(fd);
  c->last_active_ms = NowMs();
  c->interest = EPOLLIN | EPOLLRDHUP;
  epoll_event event{};
  event.events = c->interest;
  event.data.u64 = c->id;
  if (epoll_ctl(loop.epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
    ::close(fd);
    return;
  }
  connections_.fetch_add(1);
  loop.connections.emplace(c->id, std::move(c));
}

bool HttpServer::OnReadable(Loop& loop, Connection& c) {
  char chunk[kReadChunk];
  while (c.in.size() <= InputCap()) {
    const ssize_t n = ::recv(c.fd, chunk, sizeof(chunk), 0);
    if (n > 0) {
      c.in.append(chunk, static_cast<size_t>(n));
      c.last_active_ms = NowMs();
      continue;
    }
    if (n == 0) {
      c.peer_closed = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    Close(loop, c);
    return false;
  }
  return Process(loop, c);
}

bool HttpServer::Process(Loop& loop, Connection& c) {
  while (!c.busy && !c.close_after && !c.in.empty()) {
    HttpRequest request;
    size_t consumed = 0;
    bool close = false;
    int status = 0;
    const ParseOutcome outcome =
        ParseHttpRequest(c.in, options_.limits, request, consumed, close, status);
    if (outcome == ParseOutcome::kIncomplete) break;
    if (outcome == ParseOutcome::kError) {
      request.remote_addr = c.remote;
      HttpResponse response;
      response.status = status;
      try {
        handlers_.protocol_error(status, request, response);
      } catch (...) {
        response = HttpResponse();
        response.status = status;
      }
      c.out += SerializeHttpResponse(request, response, true);
      c.close_after = true;
      c.in.clear();
      break;
    }
    c.in.erase(0, consumed);
    request.remote_addr = c.remote;
    Lane lane = Lane::kWorker;
    try {
      lane = handlers_.lane(request);
    } catch (...) {
    }
    if (lane == Lane::kInline) {
      HttpResponse response;
      try {
        handlers_.serve(request, response);
      } catch (...) {
        response = HttpResponse();
        response.status = 500;
      }
      c.out += SerializeHttpResponse(request, response, close);
      if (close) c.close_after = true;
    } else if (lane == Lane::kBatch) {
      c.busy = true;
      loop.batch.push_back({c.id, std::move(request), close});
    } else {
      c.busy = true;
      WorkerPool<Job>& workers = lane == Lane::kWait ? wait_workers_ : query_workers_;
      workers.Push({&loop, c.id, std::move(request), close});
    }
  }
  if (c.peer_closed && !c.busy && c.out.size() == c.out_pos) {
    // The peer sent everything it will: what it sent is answered (or incomplete).
    Close(loop, c);
    return false;
  }
  return Flush(loop, c);
}

bool HttpServer::Flush(Loop& loop, Connection& c) {
  while (c.out_pos < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.out_pos += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      c.want_write = true;
      UpdateInterest(loop, c);
      return true;
    }
    Close(loop, c);
    return false;
  }
  c.out.clear();
  c.out_pos = 0;
  c.last_active_ms = NowMs();
  c.want_write = false;
  if (c.close_after || (c.peer_closed && !c.busy)) {
    Close(loop, c);
    return false;
  }
  UpdateInterest(loop, c);
  return true;
}

size_t HttpServer::InputCap() const {
  return options_.limits.max_request_line + options_.limits.max_header_bytes +
         options_.limits.max_body + 8;
}

void HttpServer::UpdateInterest(Loop& loop, Connection& c) {
  // Level-triggered: read while the peer may send and the buffer has room (a client that
  // pipelines more than a request's worth behind an outstanding one waits; the kernel's buffer
  // pushes back), write while output waits.
  uint32_t wanted = 0;
  if (!c.peer_closed && c.in.size() <= InputCap()) wanted |= EPOLLIN | EPOLLRDHUP;
  if (c.want_write) wanted |= EPOLLOUT;
  if (wanted == c.interest) return;
  epoll_event event{};
  event.events = wanted;
  event.data.u64 = c.id;
  epoll_ctl(loop.epoll_fd, EPOLL_CTL_MOD, c.fd, &event);
  c.interest = wanted;
}

void HttpServer::Close(Loop& loop, Connection& c) {
  epoll_ctl(loop.epoll_fd, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  connections_.fetch_sub(1);
  loop.connections.erase(c.id);  // frees c
}

void HttpServer::SweepIdle(Loop& loop) {
  if (&loop == loops_[0].get() && !loop.listening && listen_fd_ >= 0) {
    epoll_event listen{};
    listen.events = EPOLLIN;
    listen.data.u64 = kListenId;
    if (epoll_ctl(loop.epoll_fd, EPOLL_CTL_ADD, listen_fd_, &listen) == 0) loop.listening = true;
  }
  const int64_t now = NowMs();
  std::vector<uint64_t> idle;
  for (const auto& [id, c] : loop.connections) {
    if (!c->busy && c->out.empty() && now - c->last_active_ms > options_.idle_timeout_ms) {
      idle.push_back(id);
    }
  }
  for (const uint64_t id : idle) Close(loop, *loop.connections.at(id));
}

}  // namespace cdc::api
