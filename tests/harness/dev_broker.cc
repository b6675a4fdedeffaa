#include "tests/harness/dev_broker.h"

#include <httplib.h>
#include <signal.h>

#include <stdexcept>
#include <thread>

namespace cdc::testing {

std::string DevBrokerPath() { return CDC_DEVBROKER_PATH; }

DevBroker::DevBroker(std::vector<std::string> extra_args, int brokers)
    : dir_(std::make_unique<TempDir>("cdc-broker")),
      reaper_(std::make_unique<Reaper>("rm -rf '" + dir_->path() + "'")) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = FreePort();
    argv_ = {DevBrokerPath(),
             "--listen",
             "127.0.0.1:" + std::to_string(port_),
             "--brokers",
             std::to_string(brokers),
             "--control",
             "127.0.0.1:0"};
    argv_.insert(argv_.end(), extra_args.begin(), extra_args.end());
    if (Launch()) return;
  }
  throw std::runtime_error("cdc-devbroker did not start");
}

bool DevBroker::Launch() {
  process_ = std::make_unique<Process>(argv_, dir_->File("stderr.log"));
  std::optional<std::string> first = process_->ReadLine(std::chrono::seconds(15));
  std::optional<std::string> second = process_->ReadLine(std::chrono::seconds(5));
  if (first && second && first->rfind("bootstrap=", 0) == 0 && second->rfind("control=", 0) == 0) {
    bootstrap_ = first->substr(10);
    const std::string control = second->substr(8);
    control_host_ = control.substr(0, control.rfind(':'));
    control_port_ = std::stoi(control.substr(control.rfind(':') + 1));
    return true;
  }
  process_->Stop(SIGKILL);
  return false;
}

void DevBroker::Restart(std::chrono::milliseconds down, const std::vector<std::string>& topics) {
  process_->Stop(SIGKILL);
  std::this_thread::sleep_for(down);
  const std::vector<std::string> argv = argv_;
  for (const std::string& topic : topics) argv_.insert(argv_.end(), {"--topic", topic});
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (Launch()) {
      argv_ = argv;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));  // the port frees up
  }
  argv_ = argv;
  throw std::runtime_error("cdc-devbroker did not start again on port " + std::to_string(port_));
}

DevBroker::~DevBroker() {
  if (process_ && process_->running()) process_->Stop(SIGTERM);
}

int DevBroker::Stop() { return process_->Stop(SIGTERM); }

int DevBroker::Control(const std::string& method, const std::string& path,
                       std::string* body) const {
  httplib::Client client(control_host_, control_port_);
  client.set_connection_timeout(5);
  httplib::Result result =
      method == "GET" ? client.Get(path.c_str()) : client.Post(path.c_str(), "", "text/plain");
  if (!result) throw std::runtime_error("dev broker control unreachable: " + path);
  if (body != nullptr) *body = result->body;
  return result->status;
}

void DevBroker::Expect200(const std::string& path) const {
  std::string body;
  const int status = Control("POST", path, &body);
  if (status != 200) {
    throw std::runtime_error("dev broker control " + path + " -> " + std::to_string(status) + " " +
                             body);
  }
}

void DevBroker::BrokerDown(int broker_id) const {
  Expect200("/brokers/" + std::to_string(broker_id) + "/down");
}

void DevBroker::BrokerUp(int broker_id) const {
  Expect200("/brokers/" + std::to_string(broker_id) + "/up");
}

void DevBroker::SetRtt(int broker_id, int rtt_ms) const {
  Expect200("/brokers/" + std::to_string(broker_id) + "/rtt?ms=" + std::to_string(rtt_ms));
}

void DevBroker::PushErrors(const std::string& api, const std::string& error, int count) const {
  Expect200("/errors?api=" + api + "&error=" + error + "&count=" + std::to_string(count));
}

void DevBroker::CreateTopic(const std::string& name, int partitions) const {
  Expect200("/topics?name=" + name + "&partitions=" + std::to_string(partitions));
}

}  // namespace cdc::testing
