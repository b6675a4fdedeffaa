// Micro-benchmarks of common/ code that sits on per-event paths.
#include <benchmark/benchmark.h>

#include "common/metrics/registry.h"
#include "common/redact.h"
#include "common/sql_quote.h"

namespace {

void BM_CounterInc(benchmark::State& state) {
  cdc::metrics::Registry registry;
  cdc::metrics::Counter& counter = registry.AddCounter("c_total", "c").Get();
  for (auto _ : state) counter.Inc();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterInc)->Threads(1)->Threads(2);

void BM_HistogramObserve(benchmark::State& state) {
  cdc::metrics::Registry registry;
  cdc::metrics::Histogram& histogram = registry.AddHistogram("h_seconds", "h").Get();
  double value = 0;
  for (auto _ : state) histogram.Observe(value += 0.0001);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramObserve);

void BM_QuoteIdentifier(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(cdc::QuoteIdentifier(cdc::SqlDialect::kPostgres, "order_lines"));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_QuoteIdentifier);

void BM_RedactConnectionString(benchmark::State& state) {
  const std::string text = "Driver=PostgreSQL Unicode;Server=db;Port=5432;Uid=cdc;Pwd=secret;";
  for (auto _ : state) benchmark::DoNotOptimize(cdc::RedactSecrets(text));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RedactConnectionString);

}  // namespace
