// Replay and the running members of a consumer group exclude each other through a PostgreSQL
// advisory lock on the group (key: hashtext('cdc-consumer-group'), hashtext(group_id)):
//   - every running consumer holds it shared, for its lifetime, on a connection of its own;
//   - a replay takes it exclusive before it rewinds the stored offsets and holds it while it
//     re-applies, so it refuses to start while a member runs (naming each one), and a member
//     that starts meanwhile waits for the replay to end;
//   - every apply transaction of a member checks it (GuardOffsetWrite), so a member that lost
//     its connection (and with it the lock) while a replay started never writes its older
//     positions over the rewound ones.
// A member whose lock connection dies takes the lock again (TryJoin); a replay that ran in between
// counted its rewind in cdc.group_rewinds, and the member's next apply transaction, seeing a
// count other than the one at its first join, fails fatally: its positions in memory are older
// than the rewind, and a restart reads the rewound ones.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "common/pg/connection.h"

namespace cdc::consumer {

class GroupLock {
 public:
  // Does not connect yet.
  GroupLock(std::string postgres_url, std::string group_id, Logger logger);
  ~GroupLock();
  GroupLock(const GroupLock&) = delete;
  GroupLock& operator=(const GroupLock&) = delete;

  // A member: takes the lock shared. Returns "" once held, else who holds it exclusively (a
  // replay: its application name, address and start). Throws TransientError when PostgreSQL
  // cannot be reached.
  std::string TryJoin();
  // The rewind count of the group (cdc.group_rewinds) when TryJoin first held the lock.
  int64_t joined_rewinds() const { return joined_rewinds_.value_or(0); }
  // A replay: takes the lock exclusive. Returns "" once held, else who holds it (members, or
  // another replay), one per line ("cdc-consumer@host pid 123 from 10.0.0.5 since
  // 2026-12-07T10:00:00Z"; an apply lane shows as cdc-consumer-lane-N@host pid 123).
  std::string TryExclusive();
  // False when the connection holding the lock has gone (the lock with it).
  bool held();

  // The application name a member's lock connection shows in pg_stat_activity (and in the
  // replay's refusal): "cdc-consumer@HOST pid PID" (`role` replaces "cdc-consumer").
  static std::string ApplicationName(const std::string& role);

 private:
  // Who holds the lock: `exclusive_only` lists a replay's hold only, else every holder.
  std::string Holders(bool exclusive_only);

  const std::string url_;
  const std::string group_id_;
  const Logger logger_;
  std::unique_ptr<pg::Connection> connection_;
  std::optional<int64_t> joined_rewinds_;
};

// Keeps a member's or a replay's `lock` held while it runs: every second it checks the connection
// holding it, and when that connection has gone it takes the lock again. When it cannot - a
// member finds a replay holding it (the member keeps partitions the replay needs, and its
// positions predate the rewind), a replay finds members - it stops the run (`stop_run`) with
// lost() set: the process exits 1 and a restart waits or refuses as the lock says.
class GroupLockKeeper {
 public:
  GroupLockKeeper(GroupLock& lock, bool exclusive, Clock& clock, std::stop_source& stop_run,
                  const Logger& logger);
  ~GroupLockKeeper();
  bool lost() const { return lost_.load(); }

 private:
  void Run(std::stop_token stop);

  GroupLock& lock_;
  const bool exclusive_;
  Clock& clock_;
  std::stop_source& stop_run_;
  const Logger& logger_;
  std::atomic<bool> lost_{false};
  std::jthread thread_;  // last: stopped and joined first
};

// The rewind count of `group_id` (0 before its first replay).
int64_t GroupRewinds(pg::Connection& connection, const std::string& group_id);

// In an apply transaction of a running member that joined when the group had been rewound
// `joined_rewinds` times: throws TransientError("55P03") while a replay of `group_id` holds the
// group lock (the batch is retried once it has ended), and FatalError("REPLAYED") when a replay
// ran since the member joined (its positions are older than the rewind).
void GuardOffsetWrite(pg::Connection& connection, const std::string& group_id,
                      int64_t joined_rewinds);

}  // namespace cdc::consumer
