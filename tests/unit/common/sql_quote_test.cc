#include "common/sql_quote.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace cdc {
namespace {

struct QuoteCase {
  SqlDialect dialect;
  std::string name;
  std::string expected;
};

void PrintTo(const QuoteCase& c, std::ostream* out) {
  std::ostream& os = *out;
  os << SqlDialectName(c.dialect) << " " << c.name;
}

class QuoteIdentifierTable : public ::testing::TestWithParam<QuoteCase> {};

TEST_P(QuoteIdentifierTable, QuotesExactly) {
  const QuoteCase& c = GetParam();
  EXPECT_EQ(QuoteIdentifier(c.dialect, c.name), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Dialects, QuoteIdentifierTable,
    ::testing::Values(QuoteCase{SqlDialect::kPostgres, "orders", "\"orders\""},
                      QuoteCase{SqlDialect::kPostgres, "Orders", "\"Orders\""},  // mixed case kept
                      QuoteCase{SqlDialect::kPostgres, "select", "\"select\""},  // reserved word
                      QuoteCase{SqlDialect::kPostgres, "a\"b", "\"a\"\"b\""},    // embedded quote
                      QuoteCase{SqlDialect::kPostgres, "x; DROP TABLE t; --",
                                "\"x; DROP TABLE t; --\""},
                      QuoteCase{SqlDialect::kPostgres, "order lines", "\"order lines\""},  // space
                      QuoteCase{SqlDialect::kPostgres, "größe_日本", "\"größe_日本\""},  // unicode
                      QuoteCase{SqlDialect::kPostgres, "\"", "\"\"\"\""},
                      QuoteCase{SqlDialect::kSqlite, "ORDER", "\"ORDER\""},
                      QuoteCase{SqlDialect::kSqlite, "a\"\"b", "\"a\"\"\"\"b\""},
                      QuoteCase{SqlDialect::kSqlite, "x'; --", "\"x'; --\""},
                      QuoteCase{SqlDialect::kOracle, "ORDERS", "\"ORDERS\""},
                      QuoteCase{SqlDialect::kOracle, "Mixed Case", "\"Mixed Case\""},
                      QuoteCase{SqlDialect::kOracle, "DATE", "\"DATE\""},
                      QuoteCase{SqlDialect::kOracle, "x;DROP", "\"x;DROP\""}));

TEST(QuoteIdentifier, RejectsNulInEveryDialect) {
  for (SqlDialect dialect : {SqlDialect::kPostgres, SqlDialect::kOracle, SqlDialect::kSqlite}) {
    EXPECT_THROW(QuoteIdentifier(dialect, std::string("a\0b", 3)), PermanentError);
    EXPECT_THROW(QuoteIdentifier(dialect, ""), PermanentError);
    EXPECT_THROW(QuoteIdentifier(dialect, "\xff\xfe"), PermanentError);  // not UTF-8
  }
}

TEST(QuoteIdentifier, RejectsWhatTheDialectCannotRepresent) {
  EXPECT_THROW(QuoteIdentifier(SqlDialect::kOracle, "a\"b"), PermanentError);
  EXPECT_THROW(QuoteIdentifier(SqlDialect::kPostgres, std::string(64, 'a')), PermanentError);
  EXPECT_NO_THROW(QuoteIdentifier(SqlDialect::kPostgres, std::string(63, 'a')));
  EXPECT_THROW(QuoteIdentifier(SqlDialect::kOracle, std::string(129, 'A')), PermanentError);
}

TEST(QuoteIdentifier, ErrorNamesTheIdentifier) {
  try {
    QuoteIdentifier(SqlDialect::kPostgres, std::string("bad\0name", 8));
    FAIL();
  } catch (const PermanentError& e) {
    EXPECT_EQ(e.code(), "IDENTIFIER");
    EXPECT_NE(std::string(e.what()).find("bad\\0name"), std::string::npos) << e.what();
  }
}

TEST(QuoteQualified, JoinsQuotedParts) {
  EXPECT_EQ(QuoteQualified(SqlDialect::kPostgres, {"replica", "Order Lines"}),
            "\"replica\".\"Order Lines\"");
  EXPECT_EQ(QuoteQualified(SqlDialect::kOracle, {"SHOP", "ORDERS_CT"}), "\"SHOP\".\"ORDERS_CT\"");
}

}  // namespace
}  // namespace cdc
