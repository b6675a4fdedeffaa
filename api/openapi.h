// The OpenAPI 3 document of the API: schemas/openapi.yaml, compiled in, served as JSON.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cdc::api {

// schemas/openapi.yaml as it was at build time.
std::string_view OpenApiYaml();
// The same document as JSON (plain YAML scalars typed as booleans, nulls and numbers where they
// read as such). Throws std::runtime_error when the YAML does not parse.
std::string OpenApiJson(std::string_view yaml);
// The paths the document describes, e.g. /api/v1/tables/{table}/rows.
std::vector<std::string> OpenApiPaths(std::string_view yaml);

}  // namespace cdc::api
