#include "api/cursor.h"

#include <cstdint>
#include <nlohmann/json.hpp>

#include "api/response.h"
#include "common/json/codec.h"

namespace cdc::api {
namespace {

constexpr size_t kMaxCursor = 4096;

std::string Checksum(std::string_view scope, std::string_view payload) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64
  auto mix = [&](std::string_view text) {
    for (const unsigned char c : text) {
      hash ^= c;
      hash *= 0x100000001b3ULL;
    }
  };
  mix("cdc-api-cursor-v1|");
  mix(scope);
  mix("|");
  mix(payload);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4) out[static_cast<size_t>(i)] = kDigits[hash & 0xF];
  return out;
}

std::string ToBase64Url(std::string_view bytes) {
  std::string text = json::Base64Encode(bytes);
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return text;
}

std::string FromBase64Url(std::string_view text) {
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (c == '+' || c == '/' || c == '=') {
      throw std::invalid_argument("not base64url");
    }
  }
  while (standard.size() % 4 != 0) standard.push_back('=');
  return json::Base64Decode(standard);
}

[[noreturn]] void Invalid() {
  throw ApiError(ErrorCode::kFormat, "cursor is not valid for this listing",
                 {{"parameter", "cursor"}});
}

}  // namespace

std::string EncodeCursor(std::string_view scope, const std::vector<std::string>& values) {
  const std::string payload = ToBase64Url(nlohmann::json(values).dump());
  return payload + "." + Checksum(scope, payload);
}

std::vector<std::string> DecodeCursor(std::string_view scope, std::string_view cursor,
                                      size_t arity) {
  if (cursor.size() > kMaxCursor) Invalid();
  const size_t dot = cursor.rfind('.');
  if (dot == std::string_view::npos) Invalid();
  const std::string_view payload = cursor.substr(0, dot);
  if (cursor.substr(dot + 1) != Checksum(scope, payload)) Invalid();
  try {
    const nlohmann::json values = nlohmann::json::parse(FromBase64Url(payload));
    if (!values.is_array() || values.size() != arity) Invalid();
    std::vector<std::string> out;
    for (const nlohmann::json& value : values) {
      if (!value.is_string()) Invalid();
      out.push_back(value.get<std::string>());
    }
    return out;
  } catch (const ApiError&) {
    throw;
  } catch (const std::exception&) {
    Invalid();
  }
}

}  // namespace cdc::api
