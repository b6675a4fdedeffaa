#include "consumer/group_lock.h"

#include <unistd.h>

#include <array>

#include "common/error.h"

namespace cdc::consumer {
namespace {

// The lock's key: two int4 (an advisory lock space of its own, apart from the one-bigint keys).
constexpr const char* kKey = "hashtext('cdc-consumer-group'), hashtext($1)";

}  // namespace

GroupLock::GroupLock(std::string postgres_url, std::string group_id, Logger logger)
    : url_(std::move(postgres_url)), group_id_(std::move(group_id)), logger_(std::move(logger)) {}

GroupLock::~GroupLock() = default;

std::string GroupLock::ApplicationName(const std::string& role) {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  std::string name = role + "@" + host.data() + " pid " + std::to_string(getpid());
  if (name.size() > 63) name.resize(63);  // PostgreSQL's NAMEDATALEN
  return name;
}

std::string GroupLock::TryJoin() {
  if (!held()) connection_.reset();
  if (!connection_) {
    connection_ = std::make_unique<pg::Connection>(url_, ApplicationName("cdc-consumer"), logger_);
  }
  const pg::Result taken = connection_->Exec(
      std::string("SELECT pg_try_advisory_lock_shared(") + kKey + ")", {group_id_});
  if (taken.Get(0, 0) == "t") {
    if (!joined_rewinds_) joined_rewinds_ = GroupRewinds(*connection_, group_id_);
    return "";
  }
  const std::string holders = Holders(true);
  connection_.reset();  // holds nothing
  return holders.empty() ? "a replay (it has just ended)" : holders;
}

std::string GroupLock::TryExclusive() {
  connection_ =
      std::make_unique<pg::Connection>(url_, ApplicationName("cdc-consumer-replay"), logger_);
  const pg::Result taken =
      connection_->Exec(std::string("SELECT pg_try_advisory_lock(") + kKey + ")", {group_id_});
  if (taken.Get(0, 0) == "t") return "";
  const std::string holders = Holders(false);
  connection_.reset();
  return holders.empty() ? "a process that has just stopped" : holders;
}

bool GroupLock::held() {
  if (!connection_ || !connection_->healthy()) return false;
  try {
    connection_->Exec("SELECT 1");
    return true;
  } catch (const Error&) {
    return false;
  }
}

std::string GroupLock::Holders(bool exclusive_only) {
  // pg_locks keeps the key's two halves as oids (unsigned); hashtext is signed.
  const pg::Result rows = connection_->Exec(
      "SELECT COALESCE(NULLIF(a.application_name, ''), 'backend ' || l.pid) || ' from ' ||"
      " COALESCE(host(a.client_addr), 'a local socket') || ' since ' ||"
      " to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
      " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
      " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
      // Advisory locks are the database's: a group of the same name elsewhere is another one.
      " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
      " AND l.classid = (hashtext('cdc-consumer-group')::bigint & 4294967295)::text::oid"
      " AND l.objid = (hashtext($1)::bigint & 4294967295)::text::oid"
      " AND ($2 OR l.mode = 'ExclusiveLock') ORDER BY a.backend_start",
      {group_id_, exclusive_only ? "false" : "true"});
  std::string out;
  for (int i = 0; i < rows.rows(); ++i)
    out += (out.empty() ? "" : "\n") + std::string(rows.Get(i, 0));
  return out;
}

GroupLockKeeper::GroupLockKeeper(GroupLock& lock, bool exclusive, Clock& clock,
                                 std::stop_source& stop_run, const Logger& logger)
    : lock_(lock),
      exclusive_(exclusive),
      clock_(clock),
      stop_run_(stop_run),
      logger_(logger),
      thread_([this](std::stop_token stop) { Run(stop); }) {}

GroupLockKeeper::~GroupLockKeeper() = default;

void GroupLockKeeper::Run(std::stop_token stop) {
  while (clock_.SleepFor(std::chrono::seconds(1), stop)) {
    if (lock_.held()) continue;
    try {
      const std::string holders = exclusive_ ? lock_.TryExclusive() : lock_.TryJoin();
      if (holders.empty()) {
        logger_.Info("consumer group lock taken again after its connection was lost");
        continue;
      }
      if (exclusive_) {
        logger_.Error(
            "the replay lost the consumer group lock (its PostgreSQL connection) to"
            " other processes of the group; stopping (they continue from the replay's"
            " positions)",
            {{"holders", holders}});
      } else {
        logger_.Error(
            "a replay of the group started while this consumer had lost its group"
            " lock (its PostgreSQL connection); stopping so that the replay gets every"
            " partition - start it again: it waits for the replay to end",
            {{"replay", holders}});
      }
      lost_ = true;
      stop_run_.request_stop();
      return;
    } catch (const Error& e) {
      logger_.Warn("cannot take the consumer group lock again; retrying", {{"error", e.what()}});
    }
  }
}

int64_t GroupRewinds(pg::Connection& connection, const std::string& group_id) {
  const pg::Result rows =
      connection.Exec("SELECT rewinds FROM cdc.group_rewinds WHERE group_id = $1", {group_id});
  return rows.rows() == 0 ? 0 : rows.GetInt(0, 0);
}

void GuardOffsetWrite(pg::Connection& connection, const std::string& group_id,
                      int64_t joined_rewinds) {
  const pg::Result state = connection.ExecPrepared(
      std::string("SELECT pg_try_advisory_xact_lock_shared(") + kKey +
          "), COALESCE((SELECT rewinds FROM cdc.group_rewinds WHERE group_id = $1), 0)",
      {group_id});
  if (state.Get(0, 0) != "t") {
    throw TransientError("55P03", "a replay of consumer group " + group_id +
                                      " is running: applying waits until it ends");
  }
  if (state.GetInt(0, 1) != joined_rewinds) {
    throw FatalError("REPLAYED", "consumer group " + group_id +
                                     " was replayed while this consumer ran without its group"
                                     " lock (PostgreSQL connection lost): restart it to continue"
                                     " from the rewound positions");
  }
}

}  // namespace cdc::consumer
