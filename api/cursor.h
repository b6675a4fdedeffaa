// Opaque keyset-pagination cursors: the position after which the next page starts (the key values
// of the last row served, as text), bound to one listing ("scope", e.g. the table). The text is
// base64url(JSON) + "." + a checksum over scope and payload; a cursor carries no authority (its
// values are bound as parameters), the checksum only tells a tampered or truncated cursor from a
// valid one. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cdc::api {

std::string EncodeCursor(std::string_view scope, const std::vector<std::string>& values);

// The values of a cursor made by EncodeCursor for the same scope with `arity` values. Throws
// ApiError VAL_002 for anything else.
std::vector<std::string> DecodeCursor(std::string_view scope, std::string_view cursor,
                                      size_t arity);

}  // namespace cdc::api
