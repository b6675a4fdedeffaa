// A cdc-devbroker child process for integration tests, on a free fixed port, with its
// fault-injection control wrapped in methods.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/harness/process.h"

namespace cdc::testing {

class DevBroker {
 public:
  // Extra arguments are appended (e.g. {"--topic", "orders:4"}). Retries on port collisions.
  explicit DevBroker(std::vector<std::string> extra_args = {}, int brokers = 1);
  ~DevBroker();

  const std::string& bootstrap() const { return bootstrap_; }
  uint16_t port() const { return port_; }
  pid_t pid() const { return process_->pid(); }
  const std::string& directory() const { return dir_->path(); }

  void BrokerDown(int broker_id) const;
  void BrokerUp(int broker_id) const;
  void SetRtt(int broker_id, int rtt_ms) const;
  void PushErrors(const std::string& api, const std::string& error, int count) const;
  void CreateTopic(const std::string& name, int partitions) const;
  // Raw control call; returns the HTTP status and body.
  int Control(const std::string& method, const std::string& path, std::string* body) const;

  // Stops the broker with SIGTERM and returns its exit status.
  int Stop();
  // Kills the broker (SIGKILL) and starts a new one on the same port after `down`: every topic
  // is lost, as after a lost cluster (the ones given to the constructor come back empty).
  // `topics` (NAME:PARTITIONS) are created empty too, before any client can auto-create them.
  void Restart(std::chrono::milliseconds down = std::chrono::milliseconds(0),
               const std::vector<std::string>& topics = {});

 private:
  void Expect200(const std::string& path) const;
  // Starts the broker with argv_; true once it printed its addresses.
  bool Launch();

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Reaper> reaper_;  // removes dir_ even if this process is killed
  std::unique_ptr<Process> process_;
  std::vector<std::string> argv_;
  std::string bootstrap_;
  std::string control_host_;
  int control_port_ = 0;
  uint16_t port_ = 0;
};

// Path of the built cdc-devbroker executable.
std::string DevBrokerPath();

}  // namespace cdc::testing
