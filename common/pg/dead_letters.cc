#include "common/pg/dead_letters.h"

namespace cdc::pg {

std::optional<std::string> DiscardDeadLetter(Connection& connection, int64_t id,
                                             const std::optional<std::string>& group_id,
                                             const std::string& reason, const std::string& by) {
  Transaction tx(connection);
  connection.Exec("SET TRANSACTION READ WRITE");  // cdc-api's sessions default to read only
  const Result before = connection.Exec(
      std::string("SELECT ") + kDeadLetterStateSql +
          " FROM cdc.dead_letters WHERE id = $1 AND ($2::text IS NULL OR group_id = $2)"
          " FOR UPDATE",
      {std::to_string(id), group_id});
  if (before.rows() == 0) return std::nullopt;
  std::string state(before.Get(0, 0));
  if (state == "open") {
    connection.Exec(
        "UPDATE cdc.dead_letters SET discarded_at = now(), discarded_by = $2, discard_reason = $3"
        " WHERE id = $1",
        {std::to_string(id), by, reason});
  }
  tx.Commit();
  return state;
}

}  // namespace cdc::pg
