#include "common/http_tuning.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>

#include "common/error.h"

namespace cdc {

void TuneHttpServer(httplib::Server& server, int threads) {
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(1'000'000);
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  server.set_socket_options([](socket_t sock) {
    const int one = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  });
}

uint16_t StartHttpServer(httplib::Server& server, const HostPort& listen, std::thread& thread) {
  int port = listen.port;
  if (port == 0) {
    port = server.bind_to_any_port(listen.host);
  } else if (!server.bind_to_port(listen.host, port)) {
    port = -1;
  }
  if (port < 0) throw FatalError("LISTEN", "cannot listen on " + listen.ToString());
  thread = std::thread([&server] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return static_cast<uint16_t>(port);
}

void StopHttpServer(httplib::Server* server, std::thread& thread) {
  if (server != nullptr && thread.joinable()) server->stop();
  if (thread.joinable()) thread.join();
}

}  // namespace cdc
