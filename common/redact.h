// Secret redaction for anything that may be logged or printed: ODBC/libpq connection strings,
// URLs with passwords, and key/value configuration (librdkafka properties).
#pragma once

#include <string>
#include <string_view>

namespace cdc {

inline constexpr std::string_view kRedacted = "***";

// True when a configuration key names a secret: any key whose last dotted/underscored component
// contains "password", "secret", "token", "pwd" or is exactly "key" material such as
// "ssl.key.pem", "sasl.oauthbearer.client.secret", "ssl.keystore.password".
bool IsSecretKey(std::string_view key);

// Redacts every secret found in free text:
//  - `scheme://user:password@host` -> `scheme://user:***@host`
//  - ODBC / libpq keyword strings: `Pwd=...;`, `Password=...;`, `password=... ` -> `Pwd=***;`
//    (ODBC `{...}` braced values are handled).
std::string RedactSecrets(std::string_view text);

}  // namespace cdc
