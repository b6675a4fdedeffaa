// HTTP/1.1 messages for cdc-api's server (http_server.h): the request as parsed, the response as
// built, and the pure parsing and serialising between them and bytes. No I/O.
//
// Parsing: HTTP/1.0 and 1.1; keep-alive by version and Connection; empty lines before a request
// skipped; bodies by Content-Length (chunked ones are refused with 411); bounded request line
// (414), headers (431) and body (413); a malformed request line or header is 400, a version
// other than 1.x is 505.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/query.h"

namespace cdc::api {

struct HttpRequest {
  std::string method;
  std::string target;  // as sent
  std::string path;    // target up to '?', not decoded
  QueryParams params;  // decoded ('+' is a space)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // Content-Length bytes (at most HttpLimits::max_body)
  std::string remote_addr;
  bool head = false;  // HEAD: answered as GET without the body

  // The first header of this name (case-insensitive), or "".
  std::string Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type;

  void SetHeader(std::string name, std::string value);
  void SetContent(std::string content, std::string type);
};

struct HttpLimits {
  size_t max_request_line = 8192;
  size_t max_header_bytes = 8192;
  size_t max_body = 64 * 1024;
};

// One request from the front of `buffer`. kComplete: `request` is filled, `consumed` bytes
// (head and body) belong to it, `close` says whether the connection ends after the answer.
// kError: `status` says why (the connection must close). kIncomplete: read more.
enum class ParseOutcome { kIncomplete, kComplete, kError };
ParseOutcome ParseHttpRequest(std::string_view buffer, const HttpLimits& limits,
                              HttpRequest& request, size_t& consumed, bool& close, int& status);

// The query string's parameters, percent-decoded with '+' as a space; a '%' not followed by two
// hex digits is kept as it is.
QueryParams ParseQueryString(std::string_view query);

// The status line, headers and body of `response` to `request` (no body for HEAD).
std::string SerializeHttpResponse(const HttpRequest& request, const HttpResponse& response,
                                  bool close);

}  // namespace cdc::api
