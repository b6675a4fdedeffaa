// Who may call the API and how often: bearer tokens (compared in constant time, never logged)
// and a token-bucket rate limit per caller (the token, or the client address without auth).
// Pure apart from the injected clock; thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"

namespace cdc::api {

class TokenAuth {
 public:
  explicit TokenAuth(std::vector<std::string> tokens);
  bool enabled() const { return !tokens_.empty(); }
  // The token of an "Authorization: Bearer <token>" header value, or nullopt when the header is
  // not of that form.
  static std::optional<std::string_view> BearerToken(std::string_view header);
  // True when `token` is one of the configured tokens. Takes the same time whatever `token` is
  // and wherever it differs.
  bool Accepts(std::string_view token) const;

 private:
  std::vector<std::string> tokens_;
};

// True when `a` equals `b`; the time taken depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

class RateLimiter {
 public:
  // `per_second` 0 = no limit. Each caller holds up to `burst` requests.
  RateLimiter(int64_t per_second, int64_t burst, const Clock& clock);
  bool enabled() const { return per_second_ > 0; }
  // Takes one request from `caller`'s bucket: nullopt when allowed, else the seconds until one
  // is available (for Retry-After, at least 1).
  std::optional<int64_t> Take(const std::string& caller);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::TimePoint updated{};
  };
  void Sweep(Clock::TimePoint now);  // forgets full buckets (bounded memory)

  const double per_second_;
  const double burst_;
  const Clock& clock_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  Clock::TimePoint last_sweep_{};
};

}  // namespace cdc::api
