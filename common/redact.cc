#include "common/redact.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace cdc {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsKeywordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.';
}

// Keyword names (lower case) whose values are secrets in connection strings.
constexpr std::array<std::string_view, 4> kSecretKeywords = {"pwd", "password", "passwd",
                                                             "sslpassword"};

// Redacts `user:password@` inside every `scheme://` URL.
std::string RedactUrls(std::string_view text) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t scheme = text.find("://", pos);
    if (scheme == std::string_view::npos) break;
    const size_t authority = scheme + 3;
    size_t end = authority;
    while (end < text.size() && text[end] != '/' && text[end] != '?' && text[end] != '#' &&
           !std::isspace(static_cast<unsigned char>(text[end]))) {
      ++end;
    }
    const std::string_view auth = text.substr(authority, end - authority);
    const size_t at = auth.rfind('@');
    const size_t colon = at == std::string_view::npos ? std::string_view::npos : auth.find(':');
    out.append(text.substr(pos, authority - pos));
    if (colon != std::string_view::npos && colon < at) {
      out.append(auth.substr(0, colon + 1));
      out.append(kRedacted);
      out.append(auth.substr(at));
    } else {
      out.append(auth);
    }
    pos = end;
  }
  out.append(text.substr(pos));
  return out;
}

// Redacts `keyword=value` pairs (ODBC `;`-separated, libpq space-separated, URL query `&`).
std::string RedactKeywords(std::string_view text) {
  const std::string lower = Lower(text);
  std::string out;
  size_t pos = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '=') {
      ++i;
      continue;
    }
    size_t key_start = i;
    while (key_start > 0 && IsKeywordChar(text[key_start - 1])) --key_start;
    const std::string_view key = std::string_view(lower).substr(key_start, i - key_start);
    const bool secret =
        std::find(kSecretKeywords.begin(), kSecretKeywords.end(), key) != kSecretKeywords.end();
    size_t value_start = i + 1;
    while (value_start < text.size() && text[value_start] == ' ') ++value_start;
    size_t value_end = value_start;
    if (value_end < text.size() && (text[value_end] == '{' || text[value_end] == '\'')) {
      const char close = text[value_end] == '{' ? '}' : '\'';
      value_end = text.find(close, value_end + 1);
      value_end = value_end == std::string_view::npos ? text.size() : value_end + 1;
    } else {
      while (value_end < text.size() && text[value_end] != ';' && text[value_end] != '&' &&
             text[value_end] != ' ' && text[value_end] != '\n') {
        ++value_end;
      }
    }
    if (secret) {
      out.append(text.substr(pos, value_start - pos));
      out.append(kRedacted);
      pos = value_end;
    }
    i = value_end > i ? value_end : i + 1;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace

bool IsSecretKey(std::string_view key) {
  const std::string lower = Lower(key);
  for (std::string_view marker : {"password", "secret", "token", "pwd", "passwd"}) {
    if (lower.find(marker) != std::string::npos) return true;
  }
  // librdkafka private key material: ssl.key.pem, ssl_key (in-memory key), ssl.keystore.*
  return lower == "ssl.key.pem" || lower == "ssl_key" || lower == "ssl.key";
}

std::string RedactSecrets(std::string_view text) { return RedactKeywords(RedactUrls(text)); }

}  // namespace cdc
