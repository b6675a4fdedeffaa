// Small measurement helpers shared by the benchmark drivers: elapsed seconds, a Prometheus
// sample from a /metrics text, a process's CPU time and peak RSS from /proc, and the median and
// listing of repeated measurements.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace cdc::testing {

inline double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The value of `series` (name plus labels exactly as exposed) in a /metrics text; 0 if absent.
inline double MetricSample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return 0;
}

// CPU seconds (user + system) a process has used so far; 0 when it is gone.
inline double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');  // the command name may contain spaces
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Peak resident set size of a running process in KB (VmHWM), or -1.
inline int64_t PeakRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// The median of repeated measurements (0 for none).
inline double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// The measurements as "a, b, c", each printed with `format` (a printf format for one double).
inline std::string List(const std::vector<double>& values, const char* format) {
  std::string out;
  for (const double v : values) {
    char text[32];
    std::snprintf(text, sizeof(text), format, v);
    out += (out.empty() ? "" : ", ") + std::string(text);
  }
  return out;
}

}  // namespace cdc::testing
