// schemas/openapi.yaml documents exactly the routes the server has, and converts to JSON.
#include "api/openapi.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "api/router.h"

namespace cdc::api {
namespace {

TEST(OpenApi, DocumentsEveryRouteAndNoOther) {
  std::vector<std::string> documented = OpenApiPaths(OpenApiYaml());
  std::vector<std::string> served;
  for (const RouteSpec& route : Routes()) served.push_back(route.pattern);
  std::sort(documented.begin(), documented.end());
  std::sort(served.begin(), served.end());
  EXPECT_EQ(documented, served);
  // ... each with the one method the server answers there.
  const nlohmann::json doc = nlohmann::json::parse(OpenApiJson(OpenApiYaml()));
  for (const RouteSpec& route : Routes()) {
    std::string method = route.method;
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    ASSERT_TRUE(doc["paths"].contains(route.pattern));
    EXPECT_EQ(doc["paths"][route.pattern].size(), 1u) << route.pattern;
    EXPECT_TRUE(doc["paths"][route.pattern].contains(method)) << route.pattern << " " << method;
  }
}

TEST(OpenApi, ServesTheDocumentAsTypedJson) {
  const nlohmann::json doc = nlohmann::json::parse(OpenApiJson(OpenApiYaml()));
  EXPECT_EQ(doc["openapi"], "3.0.3");
  EXPECT_EQ(doc["info"]["version"], "1");  // quoted in YAML: stays a string
  const nlohmann::json& limit = doc["components"]["parameters"]["limit"]["schema"];
  EXPECT_EQ(limit["minimum"], 1);  // plain scalars become numbers
  EXPECT_TRUE(doc["paths"]["/api/v1/tables/{table}/rows"]["get"]["parameters"].is_array());
  EXPECT_THROW(OpenApiJson("a: [b"), std::runtime_error);
}

}  // namespace
}  // namespace cdc::api
