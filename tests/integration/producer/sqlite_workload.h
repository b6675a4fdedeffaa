// A deterministic mixed workload on a SQLite source for the producer's integration tests: three
// tables (one with a composite key) with NULLs, unicode, 38-digit decimal text, blobs and
// timestamps; inserts, updates (including primary-key changes) and deletes in transactions.
#pragma once

#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/odbc/odbc.h"

namespace cdc::testing {

class SqliteWorkload {
 public:
  explicit SqliteWorkload(const std::string& connection_string, uint64_t seed = 7)
      : connection_(environment_, connection_string + "Timeout=20000;"), rng_(seed) {}

  void CreateTables() {
    connection_.Execute(
        "CREATE TABLE CUSTOMERS (ID INTEGER NOT NULL PRIMARY KEY, NAME VARCHAR(100), "
        "BALANCE TEXT, PHOTO BLOB, UPDATED TIMESTAMP)");
    connection_.Execute(
        "CREATE TABLE PRODUCTS (SKU VARCHAR(20) NOT NULL PRIMARY KEY, TITLE TEXT, PRICE "
        "DECIMAL(12,2))");
    connection_.Execute(
        "CREATE TABLE ORDER_LINES (ORDER_ID INTEGER NOT NULL, LINE_NO INTEGER NOT NULL, QTY "
        "INTEGER, NOTE TEXT, PRIMARY KEY (ORDER_ID, LINE_NO))");
  }

  // Applies `changes` row changes in transactions of `per_transaction`.
  void Run(int changes, int per_transaction = 500) {
    connection_.SetAutocommit(false);
    for (int done = 0; done < changes;) {
      const int n = std::min(per_transaction, changes - done);
      for (int i = 0; i < n; ++i) Step();
      connection_.Commit();
      done += n;
    }
    connection_.SetAutocommit(true);
  }

  odbc::Connection& connection() { return connection_; }

 private:
  void Exec(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
    odbc::Statement statement(connection_);
    statement.Prepare(sql);
    for (size_t i = 0; i < params.size(); ++i) {
      statement.BindText(static_cast<SQLUSMALLINT>(i + 1), params[i]);
    }
    statement.Execute();
  }

  std::string Name(int64_t n) { return "名前-" + std::to_string(n) + "-é"; }
  std::string Balance(int64_t n) {
    return "12345678901234567890123456789." + std::to_string(100000000 + n % 900000000);
  }

  void Step() {
    const int table = static_cast<int>(rng_() % 3);
    const int kind =
        static_cast<int>(rng_() % 10);  // 0-3 insert, 4-7 update, 8 key change, 9 delete
    const int64_t n = ++counter_;
    if (table == 0) {
      if (kind < 4 || customers_.empty()) {
        const int64_t id = ++next_customer_;
        customers_.push_back(id);
        Exec(
            "INSERT INTO CUSTOMERS VALUES (?, ?, ?, X'00FF10', strftime('%Y-%m-%d "
            "%H:%M:%f','now'))",
            {std::to_string(id), n % 7 == 0 ? std::nullopt : std::optional(Name(n)), Balance(n)});
        return;
      }
      const size_t at = rng_() % customers_.size();
      const int64_t id = customers_[at];
      if (kind < 8) {
        Exec("UPDATE CUSTOMERS SET NAME = ?, BALANCE = ? WHERE ID = ?",
             {Name(n), Balance(n), std::to_string(id)});
      } else if (kind == 8) {
        const int64_t new_id = ++next_customer_;
        Exec("UPDATE CUSTOMERS SET ID = ? WHERE ID = ?",
             {std::to_string(new_id), std::to_string(id)});
        customers_[at] = new_id;
      } else {
        Exec("DELETE FROM CUSTOMERS WHERE ID = ?", {std::to_string(id)});
        customers_.erase(customers_.begin() + static_cast<long>(at));
      }
    } else if (table == 1) {
      if (kind < 4 || products_.empty()) {
        const std::string sku = "SKU-" + std::to_string(++next_product_);
        products_.push_back(sku);
        Exec("INSERT INTO PRODUCTS VALUES (?, ?, ?)",
             {sku, "Produkt «" + std::to_string(n) + "»", std::to_string(n % 10000) + ".25"});
        return;
      }
      const size_t at = rng_() % products_.size();
      if (kind < 9) {
        Exec("UPDATE PRODUCTS SET TITLE = ?, PRICE = ? WHERE SKU = ?",
             {"t" + std::to_string(n), std::to_string(n % 1000) + ".5", products_[at]});
      } else {
        Exec("DELETE FROM PRODUCTS WHERE SKU = ?", {products_[at]});
        products_.erase(products_.begin() + static_cast<long>(at));
      }
    } else {
      if (kind < 4 || lines_.empty()) {
        const std::pair<int64_t, int64_t> key{1 + static_cast<int64_t>(rng_() % 5000),
                                              ++next_line_};
        lines_.push_back(key);
        Exec("INSERT INTO ORDER_LINES VALUES (?, ?, ?, ?)",
             {std::to_string(key.first), std::to_string(key.second), std::to_string(n % 50),
              n % 5 == 0 ? std::nullopt : std::optional<std::string>("note " + std::to_string(n))});
        return;
      }
      const size_t at = rng_() % lines_.size();
      const auto key = lines_[at];
      if (kind < 8) {
        Exec("UPDATE ORDER_LINES SET QTY = ? WHERE ORDER_ID = ? AND LINE_NO = ?",
             {std::to_string(n % 99), std::to_string(key.first), std::to_string(key.second)});
      } else if (kind == 8) {
        const std::pair<int64_t, int64_t> moved{key.first, ++next_line_};
        Exec("UPDATE ORDER_LINES SET LINE_NO = ? WHERE ORDER_ID = ? AND LINE_NO = ?",
             {std::to_string(moved.second), std::to_string(key.first), std::to_string(key.second)});
        lines_[at] = moved;
      } else {
        Exec("DELETE FROM ORDER_LINES WHERE ORDER_ID = ? AND LINE_NO = ?",
             {std::to_string(key.first), std::to_string(key.second)});
        lines_.erase(lines_.begin() + static_cast<long>(at));
      }
    }
  }

  odbc::Environment environment_;
  odbc::Connection connection_;
  std::mt19937_64 rng_;
  int64_t counter_ = 0;
  int64_t next_customer_ = 0;
  int64_t next_product_ = 0;
  int64_t next_line_ = 0;
  std::vector<int64_t> customers_;
  std::vector<std::string> products_;
  std::vector<std::pair<int64_t, int64_t>> lines_;
};

}  // namespace cdc::testing
