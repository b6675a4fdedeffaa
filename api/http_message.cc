#include "api/http_message.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <optional>

namespace cdc::api {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool TokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

}  // namespace

std::string HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (IEquals(key, name)) return value;
  }
  return "";
}

void HttpResponse::SetHeader(std::string name, std::string value) {
  for (auto& [key, existing] : headers) {
    if (IEquals(key, name)) {
      existing = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

void HttpResponse::SetContent(std::string content, std::string type) {
  body = std::move(content);
  content_type = std::move(type);
}

QueryParams ParseQueryString(std::string_view query) {
  QueryParams params;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      params.emplace(DecodeQueryComponent(pair), std::string());
    } else {
      params.emplace(DecodeQueryComponent(pair.substr(0, eq)),
                     DecodeQueryComponent(pair.substr(eq + 1)));
    }
  }
  return params;
}

ParseOutcome ParseHttpRequest(std::string_view buffer, const HttpLimits& limits,
                              HttpRequest& request, size_t& consumed, bool& close, int& status) {
  // Empty lines before a request line are allowed (RFC 9112 2.2).
  size_t start = 0;
  while (start + 1 < buffer.size() && buffer[start] == '\r' && buffer[start + 1] == '\n') {
    start += 2;
  }
  const std::string_view data = buffer.substr(start);
  const size_t line_end = data.find("\r\n");
  if (line_end == std::string_view::npos) {
    if (data.size() > limits.max_request_line) {
      status = 414;
      return ParseOutcome::kError;
    }
    return ParseOutcome::kIncomplete;
  }
  if (line_end > limits.max_request_line) {
    status = 414;
    return ParseOutcome::kError;
  }
  const size_t head_end = data.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (data.size() - line_end > limits.max_header_bytes) {
      status = 431;
      return ParseOutcome::kError;
    }
    return ParseOutcome::kIncomplete;
  }
  if (head_end - line_end > limits.max_header_bytes) {
    status = 431;
    return ParseOutcome::kError;
  }
  request = HttpRequest();
  status = 400;
  // Request line: method SP target SP HTTP/1.x
  const std::string_view line = data.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp1 == 0 ||
      sp2 == sp1 + 1 || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return ParseOutcome::kError;
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!std::all_of(method.begin(), method.end(), TokenChar)) return ParseOutcome::kError;
  request.method.assign(method);
  request.target.assign(target);
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !std::isdigit(static_cast<unsigned char>(version[5])) ||
      !std::isdigit(static_cast<unsigned char>(version[7]))) {
    return ParseOutcome::kError;
  }
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    status = 505;
    return ParseOutcome::kError;
  }
  const bool http10 = version[7] == '0';
  if (target.empty() || target.front() != '/' ||
      std::any_of(target.begin(), target.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    return ParseOutcome::kError;
  }
  const size_t question = target.find('?');
  request.path.assign(target.substr(0, question));
  if (question != std::string_view::npos)
    request.params = ParseQueryString(target.substr(question + 1));
  request.head = method == "HEAD";
  // Headers.
  bool keep_alive = !http10;
  std::optional<size_t> content_length;
  size_t pos = line_end + 2;
  while (pos < head_end + 2) {
    const size_t end = data.find("\r\n", pos);
    const std::string_view header = data.substr(pos, end - pos);
    pos = end + 2;
    const size_t colon = header.find(':');
    if (colon == std::string_view::npos || colon == 0) return ParseOutcome::kError;
    const std::string_view name = header.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), TokenChar)) return ParseOutcome::kError;
    const std::string_view value = Trim(header.substr(colon + 1));
    if (std::any_of(value.begin(), value.end(), [](char c) {
          return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
        })) {
      return ParseOutcome::kError;
    }
    if (IEquals(name, "Content-Length")) {
      size_t length = 0;
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (value.empty() || ec != std::errc() || ptr != value.data() + value.size() ||
          (content_length && *content_length != length)) {
        return ParseOutcome::kError;
      }
      content_length = length;
    } else if (IEquals(name, "Transfer-Encoding")) {
      status = 411;
      return ParseOutcome::kError;
    } else if (IEquals(name, "Connection")) {
      std::string_view tokens = value;
      while (!tokens.empty()) {
        const size_t comma = tokens.find(',');
        const std::string_view token = Trim(tokens.substr(0, comma));
        tokens = comma == std::string_view::npos ? std::string_view() : tokens.substr(comma + 1);
        if (IEquals(token, "close")) keep_alive = false;
        if (IEquals(token, "keep-alive") && http10) keep_alive = true;
      }
    }
    request.headers.emplace_back(std::string(name), std::string(value));
  }
  const size_t body = content_length.value_or(0);
  if (body > limits.max_body) {
    status = 413;
    return ParseOutcome::kError;
  }
  const size_t total = start + head_end + 4 + body;
  if (buffer.size() < total) return ParseOutcome::kIncomplete;
  consumed = total;
  request.body.assign(buffer.substr(start + head_end + 4, body));
  close = !keep_alive;
  status = 0;
  return ParseOutcome::kComplete;
}

std::string SerializeHttpResponse(const HttpRequest& request, const HttpResponse& response,
                                  bool close) {
  std::string out;
  out.reserve(256 + response.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(response.status);
  out += ' ';
  out += Reason(response.status);
  out += "\r\n";
  for (const auto& [name, value] : response.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!response.content_type.empty()) {
    out += "Content-Type: ";
    out += response.content_type;
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(response.body.size());
  out += close ? "\r\nConnection: close\r\n\r\n" : "\r\nConnection: keep-alive\r\n\r\n";
  if (!request.head) out += response.body;
  return out;
}

}  // namespace cdc::api
