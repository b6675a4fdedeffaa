#include "api/openapi.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace cdc::api {
namespace {

nlohmann::json Scalar(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: always a string
  if (text == "true") return true;
  if (text == "false") return false;
  if (text == "null" || text == "~" || text.empty()) return nullptr;
  int64_t integer = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), integer);
  if (error == std::errc() && end == text.data() + text.size()) return integer;
  double real = 0;
  const auto [rend, rerror] = std::from_chars(text.data(), text.data() + text.size(), real);
  if (rerror == std::errc() && rend == text.data() + text.size()) return real;
  return text;
}

nlohmann::json ToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return Scalar(node);
    case YAML::NodeType::Sequence: {
      nlohmann::json array = nlohmann::json::array();
      for (const YAML::Node& item : node) array.push_back(ToJson(item));
      return array;
    }
    case YAML::NodeType::Map: {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& entry : node) object[entry.first.Scalar()] = ToJson(entry.second);
      return object;
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
  }
  return nullptr;
}

YAML::Node Parse(std::string_view yaml) {
  try {
    return YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(std::string("openapi.yaml: ") + e.what());
  }
}

}  // namespace

std::string OpenApiJson(std::string_view yaml) { return ToJson(Parse(yaml)).dump(); }

std::vector<std::string> OpenApiPaths(std::string_view yaml) {
  std::vector<std::string> paths;
  for (const auto& entry : Parse(yaml)["paths"]) paths.push_back(entry.first.Scalar());
  return paths;
}

}  // namespace cdc::api
