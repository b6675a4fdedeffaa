#include "common/redact.h"

#include <gtest/gtest.h>

namespace cdc {
namespace {

struct RedactCase {
  std::string input;
  std::string expected;
};

void PrintTo(const RedactCase& c, std::ostream* out) {
  std::ostream& os = *out;
  os << c.input;
}

class RedactSecretsTable : public ::testing::TestWithParam<RedactCase> {};

TEST_P(RedactSecretsTable, HidesPasswords) {
  EXPECT_EQ(RedactSecrets(GetParam().input), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Texts, RedactSecretsTable,
    ::testing::Values(RedactCase{"postgresql://cdc:s3cret@127.0.0.1:5432/replica?sslmode=prefer",
                                 "postgresql://cdc:***@127.0.0.1:5432/replica?sslmode=prefer"},
                      RedactCase{"postgresql://cdc@host/db", "postgresql://cdc@host/db"},
                      RedactCase{"Driver=PostgreSQL Unicode;Server=h;Uid=u;Pwd=hunter2;Port=5432;",
                                 "Driver=PostgreSQL Unicode;Server=h;Uid=u;Pwd=***;Port=5432;"},
                      RedactCase{"Driver=X;PWD={p;w=d};Database=d", "Driver=X;PWD=***;Database=d"},
                      RedactCase{"Driver=Oracle;DBQ=xe;UID=shop;Password=tiger",
                                 "Driver=Oracle;DBQ=xe;UID=shop;Password=***"},
                      RedactCase{"host=h user=u password=secret dbname=d",
                                 "host=h user=u password=*** dbname=d"},
                      RedactCase{"password='a b c' host=h", "password=*** host=h"},
                      RedactCase{"connect to \"Driver=SQLite3;Database=/tmp/x.db;\"",
                                 "connect to \"Driver=SQLite3;Database=/tmp/x.db;\""},
                      RedactCase{"no secrets here", "no secrets here"},
                      RedactCase{"https://u:p@a/x and https://v:q@b/y",
                                 "https://u:***@a/x and https://v:***@b/y"}));

TEST(IsSecretKey, RecognisesLibrdkafkaAndConfigSecrets) {
  for (const char* key :
       {"sasl.password", "ssl.key.password", "ssl.keystore.password",
        "sasl.oauthbearer.client.secret", "ssl.key.pem", "token", "api_token", "PGPASSWORD"}) {
    EXPECT_TRUE(IsSecretKey(key)) << key;
  }
  for (const char* key : {"security.protocol", "sasl.username", "ssl.ca.location", "acks"}) {
    EXPECT_FALSE(IsSecretKey(key)) << key;
  }
}

}  // namespace
}  // namespace cdc
