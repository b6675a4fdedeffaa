#include "common/avro/canonical.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace cdc::avro {
namespace {

// The Avro project's own test vectors (share/test/data/schema-tests.txt): input schema, its
// Parsing Canonical Form, and the CRC-64-AVRO fingerprint as a signed 64-bit number (0 = the
// file gives none for that case).
struct Vector {
  const char* input;
  const char* canonical;
  int64_t fingerprint;
};

void PrintTo(const Vector& v, std::ostream* os) { *os << v.input; }

class AvroSpecVectors : public ::testing::TestWithParam<Vector> {};

TEST_P(AvroSpecVectors, CanonicalFormAndFingerprint) {
  const Vector& v = GetParam();
  EXPECT_EQ(ParsingCanonicalForm(v.input), v.canonical);
  if (v.fingerprint != 0) {
    EXPECT_EQ(static_cast<int64_t>(SchemaFingerprint(v.input)), v.fingerprint);
  }
}

INSTANTIATE_TEST_SUITE_P(
    SchemaTests, AvroSpecVectors,
    ::testing::Values(
        Vector{R"("null")", R"("null")", 7195948357588979594},
        Vector{R"({"type":"null"})", R"("null")", 0},
        Vector{R"("boolean")", R"("boolean")", -6970731678124411036},
        Vector{R"({"type":"boolean"})", R"("boolean")", 0},
        Vector{R"("int")", R"("int")", 8247732601305521295},
        Vector{R"({"type":"int"})", R"("int")", 0},
        Vector{R"("long")", R"("long")", -3434872931120570953},
        Vector{R"({"type":"long"})", R"("long")", 0},
        Vector{R"("float")", R"("float")", 5583340709985441680},
        Vector{R"({"type":"float"})", R"("float")", 0},
        Vector{R"("double")", R"("double")", -8181574048448539266},
        Vector{R"({"type":"double"})", R"("double")", 0},
        Vector{R"("bytes")", R"("bytes")", 5746618253357095269},
        Vector{R"({"type":"bytes"})", R"("bytes")", 0},
        Vector{R"("string")", R"("string")", -8142146995180207161},
        Vector{R"({"type":"string"})", R"("string")", 0},
        Vector{R"([  ])", R"([])", -1241056759729112623},
        Vector{R"([ "int"  ])", R"(["int"])", -5232228896498058493},
        Vector{R"([ "int" , {"type":"boolean"} ])", R"(["int","boolean"])", 5392556393470105090},
        Vector{R"({"fields":[], "type":"record", "name":"foo"})",
               R"({"name":"foo","type":"record","fields":[]})", -4824392279771201922},
        Vector{R"({"fields":[], "type":"record", "name":"foo", "namespace":"x.y"})",
               R"({"name":"x.y.foo","type":"record","fields":[]})", 5916914534497305771},
        Vector{R"({"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"})",
               R"({"name":"a.b.foo","type":"record","fields":[]})", -4616218487480524110},
        Vector{R"({"fields":[], "type":"record", "name":"foo", "doc":"Useful info"})",
               R"({"name":"foo","type":"record","fields":[]})", -4824392279771201922},
        Vector{R"({"fields":[], "type":"record", "name":"foo", "aliases":["foo","bar"]})",
               R"({"name":"foo","type":"record","fields":[]})", -4824392279771201922},
        Vector{
            R"({"fields":[], "type":"record", "name":"foo", "doc":"foo", "aliases":["foo","bar"]})",
            R"({"name":"foo","type":"record","fields":[]})", -4824392279771201922},
        Vector{
            R"({"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"})",
            R"({"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]})",
            7843277075252814651},
        Vector{
            R"({ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":"true"},
                    {"order":"descending","name":"f2","doc":"Hello","type":"int"}],
                    "type":"record", "name":"foo" })",
            R"({"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]})",
            -4860222112080293046},
        Vector{R"({"type":"enum", "name":"foo", "symbols":["A1"]})",
               R"({"name":"foo","type":"enum","symbols":["A1"]})", -6342190197741309591},
        Vector{
            R"({"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]})",
            R"({"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]})", -4448647247586288245},
        Vector{R"({"name":"foo","type":"fixed","size":15})",
               R"({"name":"foo","type":"fixed","size":15})", 1756455273707447556},
        Vector{R"({"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32})",
               R"({"name":"x.y.z.foo","type":"fixed","size":32})", -3064184465700546786},
        Vector{R"({ "items":{"type":"null"}, "type":"array"})",
               R"({"type":"array","items":"null"})", -589620603366471059},
        Vector{R"({ "values":"string", "type":"map"})", R"({"type":"map","values":"string"})",
               -8732877298790414990},
        Vector{
            R"({"name":"PigValue","type":"record",
                   "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]})",
            R"({"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]})",
            -1759257747318642341}));

TEST(Canonical, LogicalTypesAndPropertiesAreStripped) {
  EXPECT_EQ(ParsingCanonicalForm(R"({"type":"long","logicalType":"timestamp-micros"})"),
            "\"long\"");
  EXPECT_EQ(
      ParsingCanonicalForm(
          R"({"type":"record","name":"r","namespace":"n","fields":[{"name":"a","cdc.column":"A$1","type":{"type":"bytes","logicalType":"decimal","precision":12,"scale":2}}]})"),
      R"({"name":"n.r","type":"record","fields":[{"name":"a","type":"bytes"}]})");
}

TEST(Canonical, NestedNamesInheritTheEnclosingNamespace) {
  EXPECT_EQ(
      ParsingCanonicalForm(
          R"({"type":"record","name":"Envelope","namespace":"cdc.shop","fields":[{"name":"before","type":["null",{"type":"record","name":"Row","fields":[]}]},{"name":"after","type":["null","Row"]}]})"),
      R"({"name":"cdc.shop.Envelope","type":"record","fields":[{"name":"before","type":["null",{"name":"cdc.shop.Row","type":"record","fields":[]}]},{"name":"after","type":["null","cdc.shop.Row"]}]})");
}

TEST(Canonical, MalformedSchemasArePermanentErrors) {
  for (const char* bad : {"", "{", "{}", R"({"type":"record"})", R"({"type":"record","name":"x"})",
                          R"({"type":"fixed","name":"f"})", "42"}) {
    EXPECT_THROW(ParsingCanonicalForm(bad), PermanentError) << bad;
  }
}

TEST(SchemaId, IsPositiveAndDeterministic) {
  EXPECT_EQ(SchemaIdFromFingerprint(0), 1);
  EXPECT_EQ(SchemaIdFromFingerprint(0xffffffffffffffffULL), 0x7fffffff);
  EXPECT_EQ(SchemaIdFromFingerprint(SchemaFingerprint("\"null\"")),
            SchemaIdFromFingerprint(0x63dd24e7cc258f8aULL));
  EXPECT_GT(SchemaIdFromFingerprint(0x80000000ULL), 0);
}

}  // namespace
}  // namespace cdc::avro
