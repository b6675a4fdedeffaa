// Helpers shared by the tests of the deployment files in deploy/ (manifests_test.cc,
// image_and_monitoring_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace cdc::deploy_test {

namespace fs = std::filesystem;

inline fs::path DeployDir() { return fs::path(CDC_SOURCE_DIR) / "deploy"; }

inline std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// An image reference with a tag other than `latest`, or a digest.
inline bool IsPinned(const std::string& image) {
  if (image.find("@sha256:") != std::string::npos) return true;
  const size_t slash = image.rfind('/');
  const std::string last = slash == std::string::npos ? image : image.substr(slash + 1);
  const size_t colon = last.find(':');
  if (colon == std::string::npos) return false;
  const std::string tag = last.substr(colon + 1);
  return !tag.empty() && tag != "latest" && tag.find('$') == std::string::npos;
}

}  // namespace cdc::deploy_test
