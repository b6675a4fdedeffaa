// TEST DOUBLE: a fake Confluent schema registry (no registry server can be installed here).
// Implements the REST subset our client uses — POST /subjects/{subject}/versions and
// GET /schemas/ids/{id} — with Confluent's semantics (one global id per distinct schema, 404
// error_code 40403 for unknown ids, 422 for unparsable schemas), optional basic auth, and failure
// injection (the next N requests answer 503).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace cdc::testing {

class FakeSchemaRegistry {
 public:
  // Empty user = no authentication required. With `tls_cert`/`tls_key` (PEM files) it serves
  // HTTPS.
  explicit FakeSchemaRegistry(std::string user = "", std::string password = "",
                              const std::string& tls_cert = "", const std::string& tls_key = "");
  ~FakeSchemaRegistry();

  std::string url() const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
  }
  void FailNextRequests(int count) { failures_.store(count); }
  int requests() const { return requests_.load(); }
  // Schemas registered under `subject`, in version order.
  size_t VersionCount(const std::string& subject) const;

 private:
  const std::string user_;
  const std::string password_;
  const bool tls_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::atomic<int> failures_{0};
  std::atomic<int> requests_{0};
  mutable std::mutex mutex_;
  std::map<std::string, int32_t> ids_;                    // schema -> id
  std::map<int32_t, std::string> schemas_;                // id -> schema
  std::map<std::string, std::vector<int32_t>> subjects_;  // subject -> ids
};

}  // namespace cdc::testing
