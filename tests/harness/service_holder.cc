// Test helper executable: starts a PgCluster and a DevBroker, prints where they are, and waits to
// be killed. HarnessCleanup tests SIGKILL it and check that nothing it started survives.
#include <unistd.h>

#include <iostream>

#include "tests/harness/dev_broker.h"
#include "tests/harness/pg_cluster.h"

int main() {
  cdc::testing::PgCluster cluster;
  cdc::testing::DevBroker broker;
  std::cout << "pg_port=" << cluster.port() << "\n"
            << "pg_dir=" << cluster.directory() << "\n"
            << "broker_port=" << broker.port() << "\n"
            << "broker_pid=" << broker.pid() << "\n"
            << "broker_dir=" << broker.directory() << "\n"
            << "ready" << std::endl;
  while (true) pause();
}
