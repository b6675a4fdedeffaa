#include "deploy/workload/planner.h"

#include <array>
#include <cstdio>

namespace cdc::workload {
namespace {

constexpr const char* kNow = "strftime('%Y-%m-%d %H:%M:%f','now')";

// The keys of one table as the planner believes they exist, with O(1) pick/replace/remove.
class KeyPool {
 public:
  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }
  size_t Pick(std::mt19937_64& rng) const { return rng() % keys_.size(); }
  const Key& at(size_t index) const { return keys_[index]; }
  void Add(Key key) { keys_.push_back(std::move(key)); }
  void Replace(size_t index, Key key) { keys_[index] = std::move(key); }
  void Remove(size_t index) {
    keys_[index] = std::move(keys_.back());
    keys_.pop_back();
  }
  void Assign(std::vector<Key> keys) { keys_ = std::move(keys); }

 private:
  std::vector<Key> keys_;
};

// Integers above every one seen (for new keys that never collide with existing ones).
class Sequence {
 public:
  int64_t Next() { return ++last_; }
  void Observe(int64_t value) { last_ = std::max(last_, value); }

 private:
  int64_t last_ = 0;
};

std::string Text(int64_t value) { return std::to_string(value); }

// A decimal with two fraction digits from an integer number of cents.
std::string Cents(int64_t cents) {
  char buffer[48];
  const int64_t magnitude = cents < 0 ? -cents : cents;
  std::snprintf(buffer, sizeof(buffer), "%s%lld.%02lld", cents < 0 ? "-" : "",
                static_cast<long long>(magnitude / 100), static_cast<long long>(magnitude % 100));
  return buffer;
}

std::string Sku(int64_t number) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "SKU-%08lld", static_cast<long long>(number));
  return buffer;
}

// Shared mechanics: the random source, the operation mix and statement bookkeeping.
class PlannerBase : public Planner {
 public:
  PlannerBase(uint64_t seed, Mix mix) : rng_(seed), mix_(mix) {}

  const std::vector<std::string>& create_sql() const override { return create_; }
  const std::vector<StatementSpec>& statements() const override { return statements_; }

 protected:
  size_t AddStatement(std::string table, Op op, std::string sql) {
    statements_.push_back({std::move(table), op, std::move(sql)});
    return statements_.size() - 1;
  }
  Op PickOp() {
    const int roll = static_cast<int>(rng_() % 100);
    if (roll < mix_.insert) return Op::kInsert;
    if (roll < mix_.insert + mix_.update) return Op::kUpdate;
    if (roll < mix_.insert + mix_.update + mix_.key_change) return Op::kKeyChange;
    return Op::kDelete;
  }
  int64_t Uniform(int64_t low, int64_t high) {  // inclusive
    return low + static_cast<int64_t>(rng_() % static_cast<uint64_t>(high - low + 1));
  }
  bool Chance(int percent) { return static_cast<int>(rng_() % 100) < percent; }
  template <size_t N>
  const char* OneOf(const std::array<const char*, N>& values) {
    return values[rng_() % N];
  }

  std::mt19937_64 rng_;
  const Mix mix_;
  std::vector<std::string> create_;
  std::vector<StatementSpec> statements_;
};

class DemoPlanner final : public PlannerBase {
 public:
  explicit DemoPlanner(uint64_t seed) : PlannerBase(seed, Mix{35, 45, 5, 15}) {
    create_ = {
        "CREATE TABLE IF NOT EXISTS CUSTOMERS (ID INTEGER NOT NULL PRIMARY KEY, "
        "NAME VARCHAR(100) NOT NULL, EMAIL VARCHAR(200), COUNTRY CHAR(2), BALANCE DECIMAL(12,2), "
        "AVATAR BLOB, CREATED_AT TIMESTAMP, UPDATED_AT TIMESTAMP)",
        "CREATE TABLE IF NOT EXISTS PRODUCTS (SKU VARCHAR(20) NOT NULL PRIMARY KEY, "
        "TITLE VARCHAR(200) NOT NULL, DESCRIPTION TEXT, PRICE DECIMAL(10,2), STOCK INTEGER, "
        "UPDATED_AT TIMESTAMP)",
        "CREATE TABLE IF NOT EXISTS ORDERS (ID INTEGER NOT NULL PRIMARY KEY, CUSTOMER_ID INTEGER, "
        "STATUS VARCHAR(20) NOT NULL, TOTAL DECIMAL(12,2), NOTE TEXT, ORDERED_AT TIMESTAMP)",
        "CREATE TABLE IF NOT EXISTS ORDER_LINES (ORDER_ID INTEGER NOT NULL, "
        "LINE_NO INTEGER NOT NULL, SKU VARCHAR(20), QTY INTEGER, PRICE DECIMAL(10,2), "
        "PRIMARY KEY (ORDER_ID, LINE_NO))",
    };
    const std::string now = kNow;
    customer_insert_ = AddStatement(
        "CUSTOMERS", Op::kInsert,
        "INSERT INTO CUSTOMERS (ID, NAME, EMAIL, COUNTRY, BALANCE, AVATAR, CREATED_AT, "
        "UPDATED_AT) VALUES (?, ?, ?, ?, ?, randomblob(16), " +
            now + ", " + now + ")");
    customer_update_ = AddStatement(
        "CUSTOMERS", Op::kUpdate,
        "UPDATE CUSTOMERS SET EMAIL = ?, BALANCE = ?, UPDATED_AT = " + now + " WHERE ID = ?");
    customer_rekey_ =
        AddStatement("CUSTOMERS", Op::kKeyChange,
                     "UPDATE CUSTOMERS SET ID = ?, UPDATED_AT = " + now + " WHERE ID = ?");
    customer_delete_ = AddStatement("CUSTOMERS", Op::kDelete, "DELETE FROM CUSTOMERS WHERE ID = ?");
    product_insert_ = AddStatement("PRODUCTS", Op::kInsert,
                                   "INSERT INTO PRODUCTS (SKU, TITLE, DESCRIPTION, PRICE, STOCK, "
                                   "UPDATED_AT) VALUES (?, ?, ?, ?, ?, " +
                                       now + ")");
    product_update_ = AddStatement("PRODUCTS", Op::kUpdate,
                                   "UPDATE PRODUCTS SET PRICE = ?, STOCK = ?, DESCRIPTION = ?, "
                                   "UPDATED_AT = " +
                                       now + " WHERE SKU = ?");
    product_delete_ = AddStatement("PRODUCTS", Op::kDelete, "DELETE FROM PRODUCTS WHERE SKU = ?");
    order_insert_ = AddStatement("ORDERS", Op::kInsert,
                                 "INSERT INTO ORDERS (ID, CUSTOMER_ID, STATUS, TOTAL, NOTE, "
                                 "ORDERED_AT) VALUES (?, ?, 'NEW', ?, ?, " +
                                     now + ")");
    order_update_ = AddStatement("ORDERS", Op::kUpdate,
                                 "UPDATE ORDERS SET STATUS = ?, TOTAL = ?, NOTE = ? WHERE ID = ?");
    order_delete_ = AddStatement("ORDERS", Op::kDelete, "DELETE FROM ORDERS WHERE ID = ?");
    line_insert_ = AddStatement(
        "ORDER_LINES", Op::kInsert,
        "INSERT INTO ORDER_LINES (ORDER_ID, LINE_NO, SKU, QTY, PRICE) VALUES (?, ?, ?, ?, ?)");
    line_update_ = AddStatement(
        "ORDER_LINES", Op::kUpdate,
        "UPDATE ORDER_LINES SET QTY = ?, PRICE = ? WHERE ORDER_ID = ? AND LINE_NO = ?");
    line_rekey_ =
        AddStatement("ORDER_LINES", Op::kKeyChange,
                     "UPDATE ORDER_LINES SET LINE_NO = ? WHERE ORDER_ID = ? AND LINE_NO = ?");
    line_delete_ = AddStatement("ORDER_LINES", Op::kDelete,
                                "DELETE FROM ORDER_LINES WHERE ORDER_ID = ? AND LINE_NO = ?");
  }

  std::vector<std::pair<std::string, std::string>> key_queries() const override {
    return {{"CUSTOMERS", "SELECT ID FROM CUSTOMERS"},
            {"PRODUCTS", "SELECT CAST(substr(SKU, 5) AS INTEGER) FROM PRODUCTS"},
            {"ORDERS", "SELECT ID FROM ORDERS"},
            {"ORDER_LINES", "SELECT ORDER_ID, LINE_NO FROM ORDER_LINES"}};
  }

  void Load(const std::string& table, std::vector<Key> keys) override {
    if (table == "CUSTOMERS") {
      for (const Key& key : keys) customer_ids_.Observe(key.at(0));
      customers_.Assign(std::move(keys));
    } else if (table == "PRODUCTS") {
      for (const Key& key : keys) product_ids_.Observe(key.at(0));
      products_.Assign(std::move(keys));
    } else if (table == "ORDERS") {
      for (const Key& key : keys) order_ids_.Observe(key.at(0));
      orders_.Assign(std::move(keys));
    } else if (table == "ORDER_LINES") {
      for (const Key& key : keys) line_numbers_.Observe(key.at(1));
      lines_.Assign(std::move(keys));
    }
  }

  Change Next() override {
    // Orders and their lines change most, customers and products less.
    const int roll = static_cast<int>(rng_() % 100);
    if (roll < 15) return Customer(PickOp());
    if (roll < 25) return Product(PickOp());
    if (roll < 55) return Order(PickOp());
    return Line(PickOp());
  }

  std::map<std::string, size_t> row_counts() const override {
    return {{"CUSTOMERS", customers_.size()},
            {"PRODUCTS", products_.size()},
            {"ORDERS", orders_.size()},
            {"ORDER_LINES", lines_.size()}};
  }

 private:
  std::string Name() {
    static constexpr std::array<const char*, 8> kFirst = {"Ada",   "Zoë",   "José",   "Åsa",
                                                          "Kenji", "Олена", "Fatima", "Li"};
    static constexpr std::array<const char*, 8> kLast = {
        "Lovelace", "Müller", "García", "Ström", "田中", "Шевченко", "O'Brien", "Nguyễn"};
    return std::string(OneOf(kFirst)) + " " + OneOf(kLast);
  }
  std::optional<std::string> Email(int64_t id) {
    if (Chance(10)) return std::nullopt;
    return "customer" + Text(id) + "." + Text(Uniform(1, 999)) + "@example.com";
  }

  Change Customer(Op op) {
    if (op == Op::kInsert || customers_.empty()) {
      static constexpr std::array<const char*, 8> kCountries = {"DE", "FR", "US", "JP",
                                                                "BR", "IN", "SE", "UA"};
      const int64_t id = customer_ids_.Next();
      customers_.Add({id});
      return {customer_insert_,
              {Text(id), Name(), Email(id), std::string(OneOf(kCountries)),
               Cents(Uniform(-50'000, 10'000'000))}};
    }
    const size_t at = customers_.Pick(rng_);
    const int64_t id = customers_.at(at).at(0);
    if (op == Op::kUpdate) {
      return {customer_update_, {Email(id), Cents(Uniform(-50'000, 10'000'000)), Text(id)}};
    }
    if (op == Op::kKeyChange) {
      const int64_t new_id = customer_ids_.Next();
      customers_.Replace(at, {new_id});
      return {customer_rekey_, {Text(new_id), Text(id)}};
    }
    customers_.Remove(at);
    return {customer_delete_, {Text(id)}};
  }

  std::optional<std::string> Description() {
    if (Chance(30)) return std::nullopt;
    static constexpr std::array<const char*, 4> kWords = {
        "Robust, weatherproof and made to last.", "Hand-finished; 2-year warranty.",
        "Ships in 24h — «bestseller».", "Contains: 50% cotton, 50% wool."};
    return std::string(OneOf(kWords));
  }

  Change Product(Op op) {
    if (op == Op::kInsert || products_.empty()) {
      const int64_t number = product_ids_.Next();
      products_.Add({number});
      return {product_insert_,
              {Sku(number), "Widget no. " + Text(number), Description(), Cents(Uniform(99, 99'999)),
               Text(Uniform(0, 500))}};
    }
    const size_t at = products_.Pick(rng_);
    const std::string sku = Sku(products_.at(at).at(0));
    if (op == Op::kDelete) {
      products_.Remove(at);
      return {product_delete_, {sku}};
    }
    return {product_update_,
            {Cents(Uniform(99, 99'999)), Text(Uniform(0, 500)), Description(), sku}};
  }

  std::optional<std::string> OrderNote() {
    if (Chance(60)) return std::nullopt;
    static constexpr std::array<const char*, 3> kNotes = {
        "Leave at the door", "Gift wrap, please 🎁", "Call before delivery; 2nd floor"};
    return std::string(OneOf(kNotes));
  }

  Change Order(Op op) {
    if (op == Op::kInsert || orders_.empty()) {
      const int64_t id = order_ids_.Next();
      orders_.Add({id});
      const int64_t customer = customers_.empty() ? 0 : customers_.at(customers_.Pick(rng_)).at(0);
      return {order_insert_, {Text(id), Text(customer), Cents(Uniform(100, 500'000)), OrderNote()}};
    }
    const size_t at = orders_.Pick(rng_);
    const int64_t id = orders_.at(at).at(0);
    if (op == Op::kDelete) {
      orders_.Remove(at);
      return {order_delete_, {Text(id)}};
    }
    static constexpr std::array<const char*, 4> kStatus = {"PAID", "SHIPPED", "DELIVERED",
                                                           "CANCELLED"};
    return {order_update_,
            {std::string(OneOf(kStatus)), Cents(Uniform(100, 500'000)), OrderNote(), Text(id)}};
  }

  Change Line(Op op) {
    if (orders_.empty()) return Order(Op::kInsert);
    if (op == Op::kInsert || lines_.empty()) {
      const int64_t order = orders_.at(orders_.Pick(rng_)).at(0);
      const int64_t line = line_numbers_.Next();
      lines_.Add({order, line});
      const std::string sku =
          products_.empty() ? Sku(0) : Sku(products_.at(products_.Pick(rng_)).at(0));
      return {line_insert_,
              {Text(order), Text(line), sku, Text(Uniform(1, 20)), Cents(Uniform(99, 99'999))}};
    }
    const size_t at = lines_.Pick(rng_);
    const Key key = lines_.at(at);
    if (op == Op::kUpdate) {
      return {line_update_,
              {Text(Uniform(1, 20)), Cents(Uniform(99, 99'999)), Text(key[0]), Text(key[1])}};
    }
    if (op == Op::kKeyChange) {
      const int64_t line = line_numbers_.Next();
      lines_.Replace(at, {key[0], line});
      return {line_rekey_, {Text(line), Text(key[0]), Text(key[1])}};
    }
    lines_.Remove(at);
    return {line_delete_, {Text(key[0]), Text(key[1])}};
  }

  KeyPool customers_, products_, orders_, lines_;
  Sequence customer_ids_, product_ids_, order_ids_, line_numbers_;
  size_t customer_insert_, customer_update_, customer_rekey_, customer_delete_;
  size_t product_insert_, product_update_, product_delete_;
  size_t order_insert_, order_update_, order_delete_;
  size_t line_insert_, line_update_, line_rekey_, line_delete_;
};

// The benchmark table: 10 columns, a bigint key, no key changes.
class BenchPlanner final : public PlannerBase {
 public:
  explicit BenchPlanner(uint64_t seed) : PlannerBase(seed, Mix{30, 60, 0, 10}) {
    create_ = {
        "CREATE TABLE IF NOT EXISTS ITEMS (ID INTEGER NOT NULL PRIMARY KEY, ACCOUNT INTEGER, "
        "NAME VARCHAR(64), AMOUNT DECIMAL(12,2), CREATED TIMESTAMP, SCORE DOUBLE, "
        "STATUS VARCHAR(16), QTY INTEGER, NOTE TEXT, REF BIGINT)"};
    insert_ = AddStatement("ITEMS", Op::kInsert,
                           "INSERT INTO ITEMS (ID, ACCOUNT, NAME, AMOUNT, CREATED, SCORE, STATUS, "
                           "QTY, NOTE, REF) VALUES (?, ?, ?, ?, " +
                               std::string(kNow) + ", ?, 'NEW', ?, ?, ?)");
    update_ =
        AddStatement("ITEMS", Op::kUpdate,
                     "UPDATE ITEMS SET AMOUNT = ?, STATUS = ?, QTY = ?, NOTE = ? WHERE ID = ?");
    delete_ = AddStatement("ITEMS", Op::kDelete, "DELETE FROM ITEMS WHERE ID = ?");
  }

  std::vector<std::pair<std::string, std::string>> key_queries() const override {
    return {{"ITEMS", "SELECT ID FROM ITEMS"}};
  }
  void Load(const std::string& table, std::vector<Key> keys) override {
    if (table != "ITEMS") return;
    for (const Key& key : keys) ids_.Observe(key.at(0));
    items_.Assign(std::move(keys));
  }
  std::map<std::string, size_t> row_counts() const override { return {{"ITEMS", items_.size()}}; }

  Change Next() override {
    const Op op = PickOp();
    if (op == Op::kInsert || items_.empty()) {
      const int64_t id = ids_.Next();
      items_.Add({id});
      return {insert_,
              {Text(id), Text(id % 1000), "customer name " + Text(id),
               Cents(Uniform(0, 10'000'000)), Text(Uniform(0, 1'000'000)) + ".5",
               Text(Uniform(0, 50)), "a note about row " + Text(id), Text(id * 7)}};
    }
    const size_t at = items_.Pick(rng_);
    const int64_t id = items_.at(at).at(0);
    if (op == Op::kDelete) {
      items_.Remove(at);
      return {delete_, {Text(id)}};
    }
    static constexpr std::array<const char*, 3> kStatus = {"UPDATED", "SHIPPED", "CLOSED"};
    return {update_,
            {Cents(Uniform(0, 10'000'000)), std::string(OneOf(kStatus)), Text(Uniform(0, 50)),
             Chance(20) ? std::nullopt
                        : std::optional<std::string>("note " + Text(Uniform(0, 1 << 20))),
             Text(id)}};
  }

 private:
  KeyPool items_;
  Sequence ids_;
  size_t insert_, update_, delete_;
};

}  // namespace

std::unique_ptr<Planner> MakePlanner(std::string_view schema, uint64_t seed) {
  if (schema == "demo") return std::make_unique<DemoPlanner>(seed);
  if (schema == "bench") return std::make_unique<BenchPlanner>(seed);
  return nullptr;
}

}  // namespace cdc::workload
