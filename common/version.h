// The release the binaries are built from (CMake's PROJECT_VERSION), which each prints for
// --version.
#pragma once

namespace cdc {

inline constexpr const char* kVersion = CDC_VERSION;

}  // namespace cdc
