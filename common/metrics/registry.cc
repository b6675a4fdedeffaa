#include "common/metrics/registry.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace cdc::metrics {
namespace {

// [a-zA-Z_:][a-zA-Z0-9_:]* (metric names) or [a-zA-Z_][a-zA-Z0-9_]* (label names).
bool ValidName(const std::string& name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

bool ValidMetricName(const std::string& name) { return ValidName(name, true); }

bool ValidLabelName(const std::string& name) {
  return ValidName(name, false) && name.rfind("__", 0) != 0 && name != "le";
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string LabelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     const std::string& extra_name = "", const std::string& extra_value = "") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + EscapeLabelValue(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += extra_name + "=\"" + EscapeLabelValue(extra_value) + "\"";
  }
  if (!out.empty()) out += "}";
  return out;
}

void AppendAtomic(std::atomic<double>& target, double amount) {
  target.fetch_add(amount, std::memory_order_relaxed);
}

}  // namespace

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buffer[32];
  // Shortest representation that reads back to the same double (0.1, not 0.10000000000000001).
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 1; i < bounds_.size(); ++i) {
    if (!(bounds_[i] > bounds_[i - 1])) {
      throw std::logic_error("histogram bounds must be strictly increasing");
    }
  }
}

void Histogram::Observe(double value) {
  size_t index = 0;
  while (index < bounds_.size() && value > bounds_[index]) ++index;
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  AppendAtomic(sum_, value);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Take() const {
  Snapshot snapshot;
  snapshot.bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(running);
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  // Count is the +Inf bucket so that the exposition is self-consistent under concurrent updates.
  snapshot.count = running;
  return snapshot;
}

template <typename M>
M& Family<M>::WithLabels(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size()) {
    throw std::logic_error("metric " + name_ + ": expected " + std::to_string(label_names_.size()) +
                           " label values, got " + std::to_string(values.size()));
  }
  std::lock_guard lock(mutex_);
  auto& slot = children_[values];
  if (!slot) {
    if constexpr (std::is_same_v<M, Histogram>) {
      slot = std::make_unique<Histogram>(bounds_);
    } else {
      slot = std::make_unique<M>();
    }
  }
  return *slot;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Registry::Entry& Registry::Register(const std::string& name, MetricType type,
                                    const std::vector<std::string>& label_names) {
  if (!ValidMetricName(name)) throw std::logic_error("invalid metric name: " + name);
  for (const std::string& label : label_names) {
    if (!ValidLabelName(label)) throw std::logic_error("invalid label name: " + label);
  }
  auto found = entries_.find(name);
  if (found != entries_.end()) {
    if (found->second.type != type || found->second.label_names != label_names) {
      throw std::logic_error("metric " + name + " registered twice with different type/labels");
    }
    return found->second;
  }
  order_.push_back(name);
  Entry& entry = entries_[name];
  entry.type = type;
  entry.label_names = label_names;
  return entry;
}

Family<Counter>& Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  Entry& entry = Register(name, MetricType::kCounter, label_names);
  if (!entry.counter) entry.counter = std::make_unique<Family<Counter>>(name, help, label_names);
  return *entry.counter;
}

Family<Gauge>& Registry::AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  Entry& entry = Register(name, MetricType::kGauge, label_names);
  if (!entry.gauge) entry.gauge = std::make_unique<Family<Gauge>>(name, help, label_names);
  return *entry.gauge;
}

Family<Histogram>& Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  Entry& entry = Register(name, MetricType::kHistogram, label_names);
  if (!entry.histogram) {
    entry.histogram =
        std::make_unique<Family<Histogram>>(name, help, label_names, std::move(bounds));
  }
  return *entry.histogram;
}

std::string RenderReadyGauge(bool ready) {
  return std::string(
             "# HELP cdc_ready 1 when /ready answers 200, else 0\n# TYPE cdc_ready gauge\n"
             "cdc_ready ") +
         (ready ? "1" : "0") + "\n";
}

std::string Registry::Render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const std::string& name : order_) {
    const Entry& entry = entries_.at(name);
    auto header = [&](const std::string& help, const char* type) {
      out += "# HELP " + name + " " + EscapeHelp(help) + "\n";
      out += "# TYPE " + name + " " + type + "\n";
    };
    switch (entry.type) {
      case MetricType::kCounter:
        header(entry.counter->help(), "counter");
        entry.counter->ForEach([&](const std::vector<std::string>& values, const Counter& c) {
          out += name + LabelSet(entry.label_names, values) + " " + FormatSampleValue(c.Value()) +
                 "\n";
        });
        break;
      case MetricType::kGauge:
        header(entry.gauge->help(), "gauge");
        entry.gauge->ForEach([&](const std::vector<std::string>& values, const Gauge& g) {
          out += name + LabelSet(entry.label_names, values) + " " + FormatSampleValue(g.Value()) +
                 "\n";
        });
        break;
      case MetricType::kHistogram:
        header(entry.histogram->help(), "histogram");
        entry.histogram->ForEach([&](const std::vector<std::string>& values, const Histogram& h) {
          const Histogram::Snapshot snap = h.Take();
          for (size_t i = 0; i <= snap.bounds.size(); ++i) {
            const std::string le =
                i < snap.bounds.size() ? FormatSampleValue(snap.bounds[i]) : std::string("+Inf");
            out += name + "_bucket" + LabelSet(entry.label_names, values, "le", le) + " " +
                   std::to_string(snap.cumulative[i]) + "\n";
          }
          out += name + "_sum" + LabelSet(entry.label_names, values) + " " +
                 FormatSampleValue(snap.sum) + "\n";
          out += name + "_count" + LabelSet(entry.label_names, values) + " " +
                 std::to_string(snap.count) + "\n";
        });
        break;
    }
  }
  return out;
}

}  // namespace cdc::metrics
