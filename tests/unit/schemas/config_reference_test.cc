// The README's configuration reference must name every key the configuration schema accepts
// (common/config/sections.cc), so a new key cannot ship undocumented.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "common/config/schema.h"

namespace cdc {
namespace {

// "section.key" names documented in the first cells of the README's reference table. A cell
// names its first key in full (`api.max_page_size`) and may add keys of the same section
// (`statement_timeout_ms`, or in full: `log.format`) or suffixes of the first one (`_user` after
// `kafka.schema_registry_url` means kafka.schema_registry_user).
std::set<std::string> DocumentedKeys(const std::string& readme) {
  const size_t from = readme.find("| section.key | default | meaning |");
  EXPECT_NE(from, std::string::npos) << "README lacks the configuration reference table";
  std::set<std::string> keys;
  if (from == std::string::npos) return keys;
  std::istringstream lines(readme.substr(from));
  std::string line;
  std::getline(lines, line);  // header
  std::getline(lines, line);  // |---|
  const std::regex quoted("`([^`]+)`");
  while (std::getline(lines, line) && line.rfind("|", 0) == 0) {
    const std::string cell = line.substr(1, line.find('|', 1) - 1);
    std::string section;
    std::string first;
    for (auto it = std::sregex_iterator(cell.begin(), cell.end(), quoted);
         it != std::sregex_iterator(); ++it) {
      std::string name = (*it)[1];
      if (name.size() > 2 && name.compare(name.size() - 2, 2, "[]") == 0)
        name.resize(name.size() - 2);
      if (section.empty()) {
        const size_t dot = name.find('.');
        if (dot == std::string::npos) break;
        section = name.substr(0, dot);
        first = name.substr(dot + 1);
        keys.insert(name);
      } else if (name.find('.') != std::string::npos) {
        keys.insert(name);
      } else if (name[0] == '_') {
        keys.insert(section + "." + first.substr(0, first.rfind('_')) + name);
      } else {
        keys.insert(section + "." + name);
      }
    }
  }
  return keys;
}

TEST(ConfigReference, TheReadmeNamesEveryKeyOfTheSchema) {
  std::ifstream readme(std::string(CDC_SOURCE_DIR) + "/README.md");
  std::stringstream text;
  text << readme.rdbuf();
  const std::set<std::string> documented = DocumentedKeys(text.str());
  ASSERT_GT(documented.size(), 40U);
  int keys = 0;
  for (const config::KeySpec& section : config::ProjectSchema().sections) {
    for (const config::KeySpec& key : section.children) {
      ++keys;
      const std::string name = section.name + "." + key.name;
      EXPECT_TRUE(documented.count(name)) << name << " is missing from README.md's reference";
    }
  }
  EXPECT_GT(keys, 40);
  // And nothing documented that the schema does not accept.
  const config::ConfigSchema schema = config::ProjectSchema();
  for (const std::string& name : documented) {
    EXPECT_NE(schema.Find(name), nullptr) << name << " is documented but not a configuration key";
  }
}

}  // namespace
}  // namespace cdc
