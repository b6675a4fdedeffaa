#include "api/router.h"

namespace cdc::api {
namespace {

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.empty() || path[0] != '/') return segments;
  size_t start = 1;
  while (true) {
    const size_t slash = path.find('/', start);
    segments.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) return segments;
    start = slash + 1;
  }
}

}  // namespace

const std::vector<RouteSpec>& Routes() {
  static const std::vector<RouteSpec> kRoutes = {
      {RouteId::kHealth, "/health"},
      {RouteId::kReady, "/ready"},
      {RouteId::kMetrics, "/metrics"},
      {RouteId::kOpenApi, "/api/v1/openapi.json"},
      {RouteId::kTables, "/api/v1/tables"},
      {RouteId::kRows, "/api/v1/tables/{table}/rows"},
      {RouteId::kRow, "/api/v1/tables/{table}/rows/{key}"},
      {RouteId::kChanges, "/api/v1/tables/{table}/changes"},
      {RouteId::kStatus, "/api/v1/status"},
      {RouteId::kDeadLetters, "/api/v1/dead-letters"},
      {RouteId::kDiscardDeadLetter, "/api/v1/dead-letters/{id}/discard", "POST"},
      {RouteId::kSchemaById, "/schemas/ids/{id}"},
      {RouteId::kSubjects, "/subjects"},
      {RouteId::kSubjectVersions, "/subjects/{subject}/versions"},
      {RouteId::kSubjectVersion, "/subjects/{subject}/versions/{version}"},
  };
  return kRoutes;
}

std::optional<RouteMatch> MatchRoute(std::string_view raw_path) {
  const std::vector<std::string_view> path = Segments(raw_path);
  if (path.empty()) return std::nullopt;
  for (const RouteSpec& route : Routes()) {
    const std::vector<std::string_view> pattern = Segments(route.pattern);
    if (pattern.size() != path.size()) continue;
    RouteMatch match{&route, {}};
    bool matches = true;
    for (size_t i = 0; i < pattern.size() && matches; ++i) {
      if (!pattern[i].empty() && pattern[i].front() == '{') {
        matches = !path[i].empty();
        match.params.emplace_back(path[i]);
      } else {
        matches = pattern[i] == path[i];
      }
    }
    if (matches) return match;
  }
  return std::nullopt;
}

}  // namespace cdc::api
