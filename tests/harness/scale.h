// Test sizes. Under the sanitizers every event costs several times more CPU, so the heavy
// integration tests run the same paths with a quarter of their events there (CDC_SANITIZED is
// defined by the build when CDC_SANITIZE is set).
#pragma once

#include <algorithm>
#include <cstdint>

namespace cdc::testing {

#ifdef CDC_SANITIZED
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

// `n`, or a quarter of it (at least 1) in a sanitizer build.
constexpr int64_t Scaled(int64_t n) { return kSanitized ? std::max<int64_t>(n / 4, 1) : n; }

}  // namespace cdc::testing
