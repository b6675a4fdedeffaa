// HTTP/1.1 request parsing (limits, keep-alive rules, incomplete and malformed input, query
// decoding) and response serialising, without sockets.
#include "api/http_message.h"

#include <gtest/gtest.h>

namespace cdc::api {
namespace {

struct Parsed {
  ParseOutcome outcome;
  HttpRequest request;
  size_t consumed = 0;
  bool close = false;
  int status = 0;
};

Parsed Parse(std::string_view text, HttpLimits limits = {}) {
  Parsed p;
  p.outcome = ParseHttpRequest(text, limits, p.request, p.consumed, p.close, p.status);
  return p;
}

TEST(HttpParseTest, AGetWithQueryAndHeaders) {
  const std::string text =
      "GET /api/v1/tables/a%2Fb/rows?limit=5&note=a+b%2Cc&bad=%zz&flag HTTP/1.1\r\n"
      "Host: x\r\nX-Request-ID:  abc \r\nauthorization: Bearer t\r\n\r\nGET /next";
  const Parsed p = Parse(text);
  ASSERT_EQ(p.outcome, ParseOutcome::kComplete);
  EXPECT_EQ(p.consumed, text.find("GET /next"));
  EXPECT_FALSE(p.close);
  EXPECT_EQ(p.request.method, "GET");
  EXPECT_EQ(p.request.path, "/api/v1/tables/a%2Fb/rows");  // the path stays encoded
  EXPECT_EQ(p.request.params.find("limit")->second, "5");
  EXPECT_EQ(p.request.params.find("note")->second, "a b,c");
  EXPECT_EQ(p.request.params.find("bad")->second, "%zz");
  EXPECT_EQ(p.request.params.find("flag")->second, "");
  EXPECT_EQ(p.request.Header("x-request-id"), "abc");
  EXPECT_EQ(p.request.Header("Authorization"), "Bearer t");
  EXPECT_EQ(p.request.Header("Origin"), "");
}

TEST(HttpParseTest, KeepAliveRules) {
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\n\r\n").close);
  EXPECT_TRUE(Parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").close);
  EXPECT_TRUE(Parse("GET / HTTP/1.0\r\n\r\n").close);
  EXPECT_FALSE(Parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").close);
  EXPECT_TRUE(Parse("GET / HTTP/1.1\r\nConnection: upgrade, close\r\n\r\n").close);
}

TEST(HttpParseTest, IncompleteUntilTheHeadAndBodyAreIn) {
  EXPECT_EQ(Parse("GET / HT").outcome, ParseOutcome::kIncomplete);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: x\r\n").outcome, ParseOutcome::kIncomplete);
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc").outcome,
            ParseOutcome::kIncomplete);
  const Parsed body = Parse("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcdeGET");
  ASSERT_EQ(body.outcome, ParseOutcome::kComplete);
  EXPECT_EQ(std::string("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde").size(), body.consumed);
  // Empty lines before a request are skipped.
  const Parsed leading = Parse("\r\n\r\nGET /x HTTP/1.1\r\n\r\n");
  ASSERT_EQ(leading.outcome, ParseOutcome::kComplete);
  EXPECT_EQ(leading.request.path, "/x");
}

TEST(HttpParseTest, MalformedAndOversizedRequestsAreErrorsWithTheirStatus) {
  const auto status = [](std::string_view text, HttpLimits limits = {}) {
    const Parsed p = Parse(text, limits);
    EXPECT_EQ(p.outcome, ParseOutcome::kError) << text;
    return p.status;
  };
  EXPECT_EQ(status("GET /\r\n\r\n"), 400);
  EXPECT_EQ(status("GET  / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status("GET / HTTP/1.1 x\r\n\r\n"), 400);
  EXPECT_EQ(status("GET x HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status("G(T / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status("GET /\x01 HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status("GET / HTTQ/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status("GET / HTTP/2.0\r\n\r\n"), 505);
  EXPECT_EQ(status("GET / HTTP/1.1\r\nNoColon\r\n\r\n"), 400);
  EXPECT_EQ(status("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n"), 400);
  EXPECT_EQ(status("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"), 400);
  EXPECT_EQ(status("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n"), 400);
  EXPECT_EQ(status("GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n"), 400);
  EXPECT_EQ(status("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"), 400);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 411);
  HttpLimits small;
  small.max_request_line = 32;
  small.max_header_bytes = 64;
  small.max_body = 10;
  EXPECT_EQ(status("GET /" + std::string(40, 'a') + " HTTP/1.1\r\n\r\n", small), 414);
  EXPECT_EQ(status("GET /" + std::string(40, 'a'), small), 414);  // no line end yet
  EXPECT_EQ(status("GET / HTTP/1.1\r\nA: " + std::string(80, 'b') + "\r\n\r\n", small), 431);
  EXPECT_EQ(status("GET / HTTP/1.1\r\nA: " + std::string(80, 'b'), small), 431);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", small), 413);
}

TEST(HttpParseTest, HeadAnswersCarryTheLengthButNoBody) {
  HttpRequest head;
  head.head = true;
  HttpResponse response;
  response.SetContent("hello", "text/plain");
  response.SetHeader("X-A", "1");
  response.SetHeader("x-a", "2");  // replaces
  const std::string out = SerializeHttpResponse(head, response, false);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nX-A: 2\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
            "Connection: keep-alive\r\n\r\n");
  HttpRequest get;
  EXPECT_EQ(SerializeHttpResponse(get, response, true).substr(out.size() - 26),
            "Connection: close\r\n\r\nhello");
}

}  // namespace
}  // namespace cdc::api
