#include "common/event/decimal.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace cdc::event {
namespace {

struct DecimalCase {
  const char* text;
  int precision;
  int scale;
  const char* canonical;  // exactly `scale` fraction digits
};

void PrintTo(const DecimalCase& c, std::ostream* os) {
  *os << c.text << " as (" << c.precision << "," << c.scale << ")";
}

class DecimalRoundTrip : public ::testing::TestWithParam<DecimalCase> {};

TEST_P(DecimalRoundTrip, TextToAvroBytesAndBackIsExact) {
  const DecimalCase& c = GetParam();
  const std::string bytes = DecimalToAvroBytes(c.text, c.precision, c.scale);
  EXPECT_LE(bytes.size(), 16u);
  EXPECT_EQ(AvroBytesToDecimal(bytes, c.precision, c.scale), c.canonical);
  EXPECT_EQ(NormalizeDecimal(c.text, c.precision, c.scale), c.canonical);
}

INSTANTIATE_TEST_SUITE_P(
    Values, DecimalRoundTrip,
    ::testing::Values(DecimalCase{"0", 1, 0, "0"}, DecimalCase{"-0", 5, 2, "0.00"},
                      DecimalCase{"123.45", 12, 2, "123.45"}, DecimalCase{"123.4", 12, 2, "123.40"},
                      DecimalCase{"-123.45", 12, 2, "-123.45"},
                      DecimalCase{"-0.000001", 38, 6, "-0.000001"},
                      DecimalCase{"0.000001", 7, 6, "0.000001"}, DecimalCase{"+5", 3, 0, "5"},
                      DecimalCase{"127", 3, 0, "127"}, DecimalCase{"128", 3, 0, "128"},
                      DecimalCase{"-128", 3, 0, "-128"}, DecimalCase{"-129", 3, 0, "-129"},
                      DecimalCase{"255", 3, 0, "255"}, DecimalCase{"256", 3, 0, "256"},
                      DecimalCase{"12.3000", 5, 2,
                                  "12.30"},  // trailing zeros beyond the scale are exact
                      DecimalCase{"99999999999999999999999999999999999999", 38, 0,
                                  "99999999999999999999999999999999999999"},
                      DecimalCase{"-99999999999999999999999999999999999999", 38, 0,
                                  "-99999999999999999999999999999999999999"},
                      DecimalCase{"1234567890123456789012345678.9012345678", 38, 10,
                                  "1234567890123456789012345678.9012345678"},
                      DecimalCase{"-0.00000000000000000000000000000000000001", 38, 38,
                                  "-0.00000000000000000000000000000000000001"},
                      DecimalCase{"1200", 7, 0, "1200"}));  // NUMBER(5,-2) mapped to (7,0)

TEST(Decimal, KnownAvroEncodings) {
  // Two's complement big-endian, minimal length (Avro spec; matches Java BigDecimal).
  EXPECT_EQ(DecimalToAvroBytes("0", 5, 0), std::string("\x00", 1));
  EXPECT_EQ(DecimalToAvroBytes("1.00", 5, 2), std::string("\x64", 1));      // unscaled 100
  EXPECT_EQ(DecimalToAvroBytes("2.00", 5, 2), std::string("\x00\xc8", 2));  // 200: sign byte
  EXPECT_EQ(DecimalToAvroBytes("-1", 5, 0), std::string("\xff", 1));
  EXPECT_EQ(DecimalToAvroBytes("127", 5, 0), std::string("\x7f", 1));
  EXPECT_EQ(DecimalToAvroBytes("128", 5, 0), std::string("\x00\x80", 2));
  EXPECT_EQ(DecimalToAvroBytes("-128", 5, 0), std::string("\x80", 1));
  EXPECT_EQ(DecimalToAvroBytes("-129", 5, 0), std::string("\xff\x7f", 2));
}

TEST(Decimal, RejectsWhatWouldLoseOrInventDigits) {
  EXPECT_THROW(DecimalToAvroBytes("1.235", 10, 2), PermanentError);  // would round
  EXPECT_THROW(DecimalToAvroBytes("1000", 5, 2), PermanentError);    // 4 integer digits > 3
  EXPECT_THROW(DecimalToAvroBytes("abc", 5, 2), PermanentError);
  EXPECT_THROW(DecimalToAvroBytes("1e5", 10, 0), PermanentError);
  EXPECT_THROW(DecimalToAvroBytes("", 5, 2), PermanentError);
  EXPECT_THROW(DecimalToAvroBytes(".", 5, 2), PermanentError);
  EXPECT_THROW(DecimalToAvroBytes("NaN", 5, 2), PermanentError);
  EXPECT_THROW(AvroBytesToDecimal("", 5, 2), PermanentError);
  EXPECT_THROW(AvroBytesToDecimal(std::string(17, '\x01'), 38, 0), PermanentError);
  EXPECT_THROW(AvroBytesToDecimal(std::string("\x27\x10", 2), 3, 0), PermanentError);  // 10000
  try {
    DecimalToAvroBytes("1.235", 10, 2);
  } catch (const PermanentError& e) {
    EXPECT_EQ(e.code(), "DECIMAL");
    EXPECT_NE(std::string(e.what()).find("1.235"), std::string::npos);
  }
}

TEST(Decimal, RecognisesDecimalText) {
  EXPECT_TRUE(IsDecimalText("1", false));
  EXPECT_TRUE(IsDecimalText("-.5", false));
  EXPECT_TRUE(IsDecimalText("5.", false));
  EXPECT_FALSE(IsDecimalText("1e5", false));
  EXPECT_TRUE(IsDecimalText("1.5E-7", true));
  EXPECT_FALSE(IsDecimalText("1e", true));
  EXPECT_FALSE(IsDecimalText("--1", true));
  EXPECT_FALSE(IsDecimalText("Infinity", true));
}

}  // namespace
}  // namespace cdc::event
