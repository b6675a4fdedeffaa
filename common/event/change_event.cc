#include "common/event/change_event.h"

#include "common/error.h"

namespace cdc::event {

Row KeyFromImage(const TableMeta& table, const ChangeEvent& event) {
  Row key;
  const std::optional<Row>& image = event.after ? event.after : event.before;
  if (image) {
    for (size_t index : table.key) key.push_back((*image)[index]);
  }
  return key;
}

void CheckArity(const TableMeta& table, const Row& values, size_t expected, const char* what) {
  if (values.size() != expected) {
    throw PermanentError("VALUE", std::string(what) + " of " + table.QualifiedName() + " has " +
                                      std::to_string(values.size()) + " values for " +
                                      std::to_string(expected) + " columns");
  }
}

}  // namespace cdc::event
