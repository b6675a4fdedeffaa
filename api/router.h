// The API's routes: one table that the server dispatches on, /metrics labels with, and the
// OpenAPI coverage test compares with schemas/openapi.yaml. Matching works on the raw (still
// percent-encoded) path, so an encoded '/' or ',' inside a key stays inside its segment. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdc::api {

enum class RouteId {
  kHealth,
  kReady,
  kMetrics,
  kOpenApi,
  kTables,
  kRows,
  kRow,
  kChanges,
  kStatus,
  kDeadLetters,
  kDiscardDeadLetter,
  // The Confluent Schema Registry REST subset (registry_api.h).
  kSchemaById,
  kSubjects,
  kSubjectVersions,
  kSubjectVersion,
};

struct RouteSpec {
  RouteId id;
  std::string pattern;         // OpenAPI style, e.g. /api/v1/tables/{table}/rows/{key}
  std::string method = "GET";  // the one method it answers (GET also answers HEAD)
};

// Every route.
const std::vector<RouteSpec>& Routes();

struct RouteMatch {
  const RouteSpec* route = nullptr;
  std::vector<std::string> params;  // the {…} segments, raw, in pattern order
};

// The route `raw_path` (no query string) names, or nullopt.
std::optional<RouteMatch> MatchRoute(std::string_view raw_path);

}  // namespace cdc::api
