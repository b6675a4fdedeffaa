// Replay against running members of its consumer group (consumer/group_lock.h): a replay refuses
// to start while a member runs, naming it, and rewinds nothing; a member started during a replay
// waits for it to end; a member that lost its group lock while a replay ran never writes its
// older positions over the rewound ones (it stops, and a restart continues from the rewind).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/consumer/consumer_fixture.h"

namespace cdc::testing {
namespace {

using event::Op;

class ReplayGroupTest : public ConsumerTest {
 protected:
  // Writes `count` new ORDERS and returns the topic.
  std::string Write(int64_t first, int64_t count) {
    EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
    const event::TableMeta table = OrdersTable();
    for (int64_t id = first; id < first + count; ++id) {
      writer.Write(table, OrderEvent(Op::kCreate, id, id, "n", id));
    }
    writer.Flush();
    return writer.Topic(table);
  }
  std::string Offsets() const {
    return Sql(
        "SELECT string_agg(partition || ':' || next_offset, ',' ORDER BY partition)"
        " FROM cdc.offsets WHERE group_id = 'cdc-pg'");
  }
  std::string MemberLog() const { return dir_.path() + "/member.log"; }
  // Damages every replica row behind the version guard's back: only a replay that re-applies
  // every partition repairs them all.
  void Tamper() const { Sql("UPDATE replica.orders SET note = 'tampered', _cdc_seq = 0"); }
  std::string Tampered() const {
    return Sql("SELECT count(*) FROM replica.orders WHERE note = 'tampered'");
  }
};

TEST_F(ReplayGroupTest, ReplayRefusesWhileAMemberRunsAndAMemberWaitsForAReplay) {
  const std::string topic = Write(1, 500);
  const std::string config = ConfigPath();
  // Another pipeline (its own Kafka) with the same group name, replicating into another database
  // of the same server: another group.
  DevBroker other_broker;
  cluster_.CreateDatabase("elsewhere");
  const std::string elsewhere = dir_.path() + "/elsewhere.yaml";
  WriteFile(elsewhere,
            ConsumerConfig(other_broker.bootstrap(), cluster_.Url("elsewhere"), "", "avro"));
  {
    ConsumerProcess member({"run", "--config", config}, MemberLog());
    ConsumerProcess other({"run", "--config", elsewhere}, dir_.path() + "/elsewhere.log");
    ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 500; }, std::chrono::seconds(60)));
    const std::string before = Offsets();
    ConsumerProcess replay({"replay", "--config", config, "--from-beginning"}, LogPath());
    EXPECT_EQ(replay.Wait(std::chrono::seconds(30)), 1) << LogTail();
    const std::string refusal = LogTail();
    EXPECT_NE(refusal.find("is in use (running members"), std::string::npos) << refusal;
    // Names the member of this database, and only it.
    const size_t named = refusal.find("cdc-consumer@");
    ASSERT_NE(named, std::string::npos) << refusal;
    EXPECT_EQ(refusal.find("cdc-consumer@", named + 1), std::string::npos) << refusal;
    EXPECT_EQ(Offsets(), before);  // nothing rewound
    EXPECT_EQ(Sql("SELECT count(*) FROM cdc.group_rewinds"), "0");
    EXPECT_EQ(member.Stop(), 0);
    EXPECT_EQ(other.Stop(), 0);
  }
  Tamper();
  ConsumerProcess replay({"replay", "--config", config, "--from-beginning"}, LogPath());
  ASSERT_NE(replay.WaitForOutput("records to re-apply", std::chrono::seconds(60)), "") << LogTail();
  EXPECT_EQ(Sql("SELECT rewinds FROM cdc.group_rewinds"), "1");
  WriteFile(MemberLog(), "");
  ConsumerProcess member({"run", "--config", config}, MemberLog());
  ASSERT_TRUE(WaitUntil(
      [&] {
        return TailFile(MemberLog(), 50).find("a replay of consumer group") != std::string::npos;
      },
      std::chrono::seconds(30)))
      << TailFile(MemberLog(), 20);
  EXPECT_EQ(TailFile(MemberLog(), 50).find("\"consuming\""), std::string::npos);  // not joined
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 500; }, std::chrono::seconds(60)));
  EXPECT_EQ(Tampered(), "0");  // every partition was replayed
  EXPECT_EQ(replay.Stop(), 0);
  // The replay has ended: the member joins and applies what comes next.
  Write(501, 100);
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 600; }, std::chrono::seconds(60)))
      << TailFile(MemberLog(), 20);
  EXPECT_EQ(Sql("SELECT count(*) FROM replica.orders"), "600");
  EXPECT_EQ(member.Stop(), 0);
}

TEST_F(ReplayGroupTest, AMemberThatLostItsLockDuringAReplayNeverOverwritesTheRewind) {
  const std::string topic = Write(1, 300);
  const std::string config = ConfigPath();
  ConsumerProcess member({"run", "--config", config}, MemberLog());
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 300; }, std::chrono::seconds(60)));
  Tamper();
  // The member's lock connection dies (as in a PostgreSQL failover); a replay starts before the
  // member takes the lock again (it checks every 5 s: try until the replay wins the race).
  std::unique_ptr<ConsumerProcess> replay;
  for (int attempt = 0; attempt < 5 && !replay; ++attempt) {
    Sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name LIKE 'cdc-consumer@%'");
    WriteFile(LogPath(), "");
    auto started = std::make_unique<ConsumerProcess>(
        std::vector<std::string>{"replay", "--config", config, "--from-beginning"}, LogPath());
    if (started->WaitForOutput("records to re-apply", std::chrono::seconds(30)).empty()) {
      started->Wait(std::chrono::seconds(10));  // refused: the member was quicker
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    replay = std::move(started);
  }
  ASSERT_TRUE(replay) << LogTail();
  // The member notices within a second and stops, leaving its partitions to the replay: it must
  // neither keep them (the replay would re-apply only its own) nor store its positions, which
  // predate the rewind.
  Write(301, 200);
  const auto status = member.Wait(std::chrono::seconds(60));
  ASSERT_TRUE(status.has_value()) << "the member went on next to the replay";
  EXPECT_EQ(*status, 1) << TailFile(MemberLog(), 40);
  const std::string member_log = TailFile(MemberLog(), 60);
  EXPECT_TRUE(member_log.find("stopping so that the replay gets every partition") !=
                  std::string::npos ||
              member_log.find("was replayed while this consumer ran") != std::string::npos)
      << member_log;
  // The replay alone re-applies every partition: every tampered row is repaired.
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 500 && Tampered() == "0"; },
                        std::chrono::seconds(60)))
      << "tampered rows left: " << Tampered();
  EXPECT_EQ(replay->Stop(), 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM replica.orders"), "500");
  // Restarted, the member continues from where the replay left off.
  ConsumerProcess restarted({"run", "--config", config}, MemberLog());
  Write(501, 10);
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 510; }, std::chrono::seconds(60)));
  EXPECT_EQ(Sql("SELECT count(*) FROM replica.orders"), "510");
  EXPECT_EQ(Sql("SELECT count(*) FROM cdc.dead_letters"), "0");
  EXPECT_EQ(restarted.Stop(), 0);
}

TEST_F(ReplayGroupTest, AReplayWhoseStatusPortIsTakenTakesAFreeOne) {
  const std::string topic = Write(1, 50);
  // Something else listens on the configured status port.
  const int holder = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(holder, 1), 0);
  socklen_t length = sizeof(address);
  getsockname(holder, reinterpret_cast<sockaddr*>(&address), &length);
  std::string config_text = ConsumerConfig(broker_.bootstrap(), url_);
  const std::string any = "metrics_listen: 127.0.0.1:0";
  config_text.replace(config_text.find(any), any.size(),
                      "metrics_listen: 127.0.0.1:" + std::to_string(ntohs(address.sin_port)));
  const std::string config = dir_.path() + "/taken.yaml";
  WriteFile(config, config_text);
  ConsumerProcess replay({"replay", "--config", config, "--from-beginning"}, LogPath());
  EXPECT_NE(replay.WaitForOutput("records to re-apply", std::chrono::seconds(60)), "") << LogTail();
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 50; }, std::chrono::seconds(60)));
  EXPECT_NE(LogTail(60).find("takes a free port"), std::string::npos) << LogTail();
  EXPECT_EQ(replay.Stop(), 0);
  close(holder);
}

}  // namespace
}  // namespace cdc::testing
