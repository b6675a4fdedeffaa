// Every source connection is set up so that values read the same whatever the defaults are
// (producer/dialect.h, SessionSetup), and checked to deliver text as UTF-8: a driver that does not
// (an Oracle client without an AL32UTF8 NLS_LANG; here psqlODBC's ANSI driver with a LATIN1 client
// encoding) is refused with the fix named, instead of publishing '?' for every non-ASCII character.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "tests/integration/producer/pg_source_fixture.h"

namespace cdc::testing {
namespace {

TEST_F(PgSourceTest, ADriverThatDoesNotDeliverUtf8IsRefusedNamingTheFix) {
  const auto [ok_rc, ok_report] = RunCommand({"check", "--config", config_path_}, dir_.File("ok"));
  EXPECT_EQ(ok_rc, 0) << ok_report;

  std::string latin1 = source_->ConnectionString();
  latin1.replace(latin1.find("PostgreSQL Unicode"), 18, "PostgreSQL ANSI");
  latin1 += "ConnSettings=SET client_encoding TO 'LATIN1';";
  const std::string config = dir_.File("latin1.yaml");
  WriteText(config, ProducerConfig(broker_.bootstrap(), latin1,
                                   "    - name: shop.orders\n      topic: orders\n",
                                   "  snapshot: never\n"));
  const auto [rc, report] = RunCommand({"check", "--config", config}, dir_.File("latin1.log"));
  EXPECT_EQ(rc, 1) << report;
  EXPECT_NE(report.find("table shop.orders: FAILED"), std::string::npos) << report;
  EXPECT_NE(report.find("deliver text as UTF-8"), std::string::npos) << report;
  EXPECT_NE(report.find("Unicode driver"), std::string::npos) << report;

  // A running producer says so and publishes nothing.
  {
    pqxx::connection c(url_);
    pqxx::work w(c);
    w.exec("INSERT INTO shop.orders VALUES (1, 1.00, 'caf\xC3\xA9')");
    w.commit();
  }
  ProducerProcess producer(config, dir_.File("producer.log"));
  ASSERT_TRUE(WaitFor([&] { return CountInFile(dir_.File("producer.log"), "CHARSET") > 0; },
                      std::chrono::seconds(30)))
      << Tail(dir_.File("producer.log"));
  EXPECT_TRUE(ReadTopic(broker_.bootstrap(), "orders").empty());
  EXPECT_EQ(producer.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace cdc::testing
