// Bearer tokens and the per-caller rate limit (on a manual clock: no sleeping).
#include "api/access.h"

#include <gtest/gtest.h>

namespace cdc::api {
namespace {

TEST(TokenAuth, AcceptsOnlyConfiguredBearerTokens) {
  const TokenAuth auth({"s3cret-token", "second"});
  EXPECT_TRUE(auth.enabled());
  EXPECT_TRUE(auth.Accepts("s3cret-token"));
  EXPECT_TRUE(auth.Accepts("second"));
  EXPECT_FALSE(auth.Accepts("s3cret-toke"));
  EXPECT_FALSE(auth.Accepts("s3cret-token2"));
  EXPECT_FALSE(auth.Accepts(""));
  EXPECT_FALSE(TokenAuth({}).enabled());
  EXPECT_EQ(TokenAuth::BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(TokenAuth::BearerToken("bearer  abc "), "abc");
  EXPECT_EQ(TokenAuth::BearerToken("Basic abc"), std::nullopt);
  EXPECT_EQ(TokenAuth::BearerToken("Bearer "), std::nullopt);
  EXPECT_EQ(TokenAuth::BearerToken(""), std::nullopt);
}

TEST(ConstantTimeEquals, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcabc"));  // a repeated prefix is not equal
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(RateLimiter, AllowsTheBurstThenRefillsAtTheRate) {
  ManualClock clock;
  RateLimiter limiter(10, 3, clock);  // 10/s, burst 3
  EXPECT_EQ(limiter.Take("a"), std::nullopt);
  EXPECT_EQ(limiter.Take("a"), std::nullopt);
  EXPECT_EQ(limiter.Take("a"), std::nullopt);
  EXPECT_EQ(limiter.Take("a"), 1);             // empty: retry after (at least) a second
  EXPECT_EQ(limiter.Take("b"), std::nullopt);  // callers have their own buckets
  clock.Advance(std::chrono::milliseconds(100));
  EXPECT_EQ(limiter.Take("a"), std::nullopt);  // one token back after 1/10 s
  EXPECT_EQ(limiter.Take("a"), 1);
  clock.Advance(std::chrono::seconds(10));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Take("a"), std::nullopt);  // never above burst
  EXPECT_EQ(limiter.Take("a"), 1);
}

TEST(RateLimiter, SlowRatesAskForLongerWaits) {
  ManualClock clock;
  RateLimiter limiter(1, 1, clock);
  EXPECT_EQ(limiter.Take("a"), std::nullopt);
  EXPECT_EQ(limiter.Take("a"), 1);
  RateLimiter off(0, 1, clock);
  EXPECT_FALSE(off.enabled());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(off.Take("a"), std::nullopt);
}

}  // namespace
}  // namespace cdc::api
