// Nullable fields of a pg::Result as JSON, for the endpoints that build their answers as JSON
// objects (status, dead letters).
#pragma once

#include <nlohmann/json.hpp>

#include "api/values.h"
#include "common/pg/connection.h"

namespace cdc::api {

// The timestamptz at (row, column) in the API's ISO-8601 form, or null.
inline nlohmann::json Timestamp(const pg::Result& result, int row, int column) {
  return result.IsNull(row, column) ? nlohmann::json(nullptr)
                                    : ToJson(ValueKind::kTimestampTz, result.Get(row, column));
}

// The integer at (row, column), or null.
inline nlohmann::json Int(const pg::Result& result, int row, int column) {
  return result.IsNull(row, column) ? nlohmann::json(nullptr)
                                    : nlohmann::json(result.GetInt(row, column));
}

}  // namespace cdc::api
