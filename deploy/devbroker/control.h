// The dev broker's fault-injection control: a small HTTP endpoint on loopback.
//   GET  /status                                  -> {"bootstrap": "...", "brokers": N}
//   POST /brokers/{id}/down | /brokers/{id}/up    -> take a broker down / bring it back
//   POST /brokers/{id}/rtt?ms=N                   -> set a broker's round-trip time
//   POST /errors?api=Produce&error=NOT_ENOUGH_REPLICAS&count=N
//                                                 -> the next N requests of that API fail
//   POST /topics?name=T&partitions=N              -> create a topic
// Parameters come from the query string only. A POST needs no body: one without Content-Length
// and Transfer-Encoding has none (curl -X POST sends neither); a Content-Length or chunked body
// (up to 64 KiB) is read and ignored. Bad requests get 400 with
// {"error":{"code":...,"message":...}}, unknown paths 404 with the same shape.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>
#include <thread>

#include "common/host_port.h"

namespace httplib {
class Server;
}

namespace cdc::devbroker {

// Kafka API key for a name such as "Produce" or "Metadata" (or a number); -1 when unknown.
int ApiKeyFromName(const std::string& name);
// librdkafka error code for a name such as "NOT_ENOUGH_REPLICAS" (or a number); returns false
// when unknown.
bool ErrorFromName(const std::string& name, rd_kafka_resp_err_t* err);

class ControlServer {
 public:
  ControlServer(rd_kafka_mock_cluster_t* cluster, int broker_count, std::string bootstrap);
  ~ControlServer();
  // Binds (port 0 = any) and serves on a background thread; returns the bound port.
  // Throws cdc::FatalError when the address cannot be bound.
  uint16_t Start(const HostPort& listen);

 private:
  rd_kafka_mock_cluster_t* const cluster_;
  const int broker_count_;
  const std::string bootstrap_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace cdc::devbroker
