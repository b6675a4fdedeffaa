#include "api/access.h"

#include <algorithm>
#include <cmath>

namespace cdc::api {
namespace {

constexpr size_t kSweepAbove = 10'000;

}  // namespace

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = a.empty() ? 0 : static_cast<unsigned char>(a[i % a.size()]);
    const unsigned char y = b.empty() ? 0 : static_cast<unsigned char>(b[i % b.size()]);
    diff |= x ^ y;
  }
  return diff == 0;
}

TokenAuth::TokenAuth(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {}

std::optional<std::string_view> TokenAuth::BearerToken(std::string_view header) {
  constexpr std::string_view kScheme = "Bearer ";
  if (header.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {  // the scheme is case-insensitive
    if (std::tolower(static_cast<unsigned char>(header[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i]))) {
      return std::nullopt;
    }
  }
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

bool TokenAuth::Accepts(std::string_view token) const {
  bool accepted = false;
  for (const std::string& candidate : tokens_) {
    accepted |= ConstantTimeEquals(token, candidate);  // no early exit
  }
  return accepted;
}

RateLimiter::RateLimiter(int64_t per_second, int64_t burst, const Clock& clock)
    : per_second_(static_cast<double>(per_second)),
      burst_(static_cast<double>(std::max<int64_t>(burst, 1))),
      clock_(clock) {}

void RateLimiter::Sweep(Clock::TimePoint now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double seconds = std::chrono::duration<double>(now - it->second.updated).count();
    if (it->second.tokens + seconds * per_second_ >= burst_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  last_sweep_ = now;
}

std::optional<int64_t> RateLimiter::Take(const std::string& caller) {
  if (!enabled()) return std::nullopt;
  const Clock::TimePoint now = clock_.Now();
  std::lock_guard lock(mutex_);
  if (buckets_.size() > kSweepAbove && now - last_sweep_ > std::chrono::seconds(1)) Sweep(now);
  auto [it, fresh] = buckets_.try_emplace(caller, Bucket{burst_, now});
  Bucket& bucket = it->second;
  if (!fresh) {
    const double seconds = std::chrono::duration<double>(now - bucket.updated).count();
    bucket.tokens = std::min(burst_, bucket.tokens + seconds * per_second_);
    bucket.updated = now;
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return std::nullopt;
  }
  const double wait = (1.0 - bucket.tokens) / per_second_;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait)));
}

}  // namespace cdc::api
