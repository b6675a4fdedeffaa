#include "common/error.h"

#include <gtest/gtest.h>

namespace cdc {
namespace {

struct SqlStateCase {
  const char* sqlstate;
  RetryClass expected;
  const char* why;
};

void PrintTo(const SqlStateCase& c, std::ostream* out) {
  std::ostream& os = *out;
  os << "sqlstate " << (*c.sqlstate ? c.sqlstate : "(empty)");
}

class SqlStateClassification : public ::testing::TestWithParam<SqlStateCase> {};

TEST_P(SqlStateClassification, MapsToRetryClass) {
  const SqlStateCase& c = GetParam();
  EXPECT_EQ(ClassifySqlState(c.sqlstate), c.expected)
      << c.sqlstate << " (" << c.why << ") -> " << RetryClassName(ClassifySqlState(c.sqlstate));
}

INSTANTIATE_TEST_SUITE_P(
    Table, SqlStateClassification,
    ::testing::Values(SqlStateCase{"08000", RetryClass::kTransient, "connection exception"},
                      SqlStateCase{"08006", RetryClass::kTransient, "connection failure"},
                      SqlStateCase{"08001", RetryClass::kTransient, "cannot establish connection"},
                      SqlStateCase{"40001", RetryClass::kTransient, "serialization failure"},
                      SqlStateCase{"40P01", RetryClass::kTransient, "deadlock detected"},
                      SqlStateCase{"53300", RetryClass::kTransient, "too many connections"},
                      SqlStateCase{"53100", RetryClass::kTransient, "disk full"},
                      SqlStateCase{"57P01", RetryClass::kTransient, "admin shutdown"},
                      SqlStateCase{"57014", RetryClass::kTransient, "query canceled"},
                      SqlStateCase{"55P03", RetryClass::kTransient, "lock not available"},
                      SqlStateCase{"58030", RetryClass::kTransient, "io error"},
                      SqlStateCase{"", RetryClass::kTransient, "no server answer"},
                      SqlStateCase{"22P02", RetryClass::kPermanent, "invalid text representation"},
                      SqlStateCase{"22003", RetryClass::kPermanent, "numeric value out of range"},
                      SqlStateCase{"23505", RetryClass::kPermanent, "unique violation"},
                      SqlStateCase{"23502", RetryClass::kPermanent, "not null violation"},
                      SqlStateCase{"42P01", RetryClass::kPermanent, "undefined table"},
                      SqlStateCase{"42703", RetryClass::kPermanent, "undefined column"},
                      SqlStateCase{"42601", RetryClass::kPermanent, "syntax error"},
                      SqlStateCase{"40002", RetryClass::kPermanent,
                                   "integrity constraint violation (tx)"},
                      SqlStateCase{"21000", RetryClass::kPermanent, "cardinality violation"},
                      SqlStateCase{"XX000", RetryClass::kFatal, "internal error"},
                      SqlStateCase{"XX001", RetryClass::kFatal, "data corrupted"}));

TEST(Error, CarriesRetryClassAndCode) {
  try {
    ThrowError(RetryClass::kPermanent, "23505", "duplicate key");
    FAIL() << "did not throw";
  } catch (const PermanentError& e) {
    EXPECT_EQ(e.retry_class(), RetryClass::kPermanent);
    EXPECT_EQ(e.code(), "23505");
    EXPECT_STREQ(e.what(), "duplicate key");
    EXPECT_FALSE(e.transient());
  }
  EXPECT_THROW(ThrowError(RetryClass::kTransient, "08006", "x"), TransientError);
  EXPECT_THROW(ThrowError(RetryClass::kFatal, "CONFIG", "x"), FatalError);
}

}  // namespace
}  // namespace cdc
