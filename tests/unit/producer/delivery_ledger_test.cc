#include "producer/delivery_ledger.h"

#include <gtest/gtest.h>

namespace cdc::producer {
namespace {

TEST(DeliveryLedger, CandidateConfirmedOnlyWhenEverythingBeforeItIsDelivered) {
  DeliveryLedger<int> ledger(0);
  const uint64_t first = ledger.Reserve(3);
  ledger.AddCandidate(30);
  const uint64_t more = ledger.Reserve(2);
  ledger.AddCandidate(50);
  ledger.Delivered(first + 2);
  ledger.Delivered(more);
  EXPECT_EQ(ledger.Confirmed(), 0);  // first and first+1 still in flight
  ledger.Delivered(first);
  ledger.Delivered(first + 1);
  EXPECT_EQ(ledger.Confirmed(), 30);
  ledger.Delivered(more + 1);
  EXPECT_EQ(ledger.Confirmed(), 50);
  EXPECT_EQ(ledger.InFlight(), 0u);
}

TEST(DeliveryLedger, CheckpointNeverPassesAFailedDelivery) {
  DeliveryLedger<int> ledger(0);
  const uint64_t a = ledger.Reserve(2);
  ledger.AddCandidate(20);
  const uint64_t b = ledger.Reserve(2);
  ledger.AddCandidate(40);
  ledger.Delivered(a);
  ledger.Delivered(a + 1);
  ledger.Failed(b, "_MSG_TIMED_OUT");
  ledger.Delivered(b + 1);
  EXPECT_EQ(ledger.Confirmed(), 20);
  ASSERT_TRUE(ledger.Failure());
  EXPECT_EQ(*ledger.Failure(), "_MSG_TIMED_OUT");
  const uint64_t c = ledger.Reserve(1);
  ledger.AddCandidate(60);
  ledger.Delivered(c);
  EXPECT_EQ(ledger.Confirmed(), 20);  // still held until Reset
  ledger.Reset();
  EXPECT_FALSE(ledger.Failure());
  EXPECT_EQ(ledger.Confirmed(), 20);
  ledger.Reserve(1);
  ledger.AddCandidate(25);
  EXPECT_EQ(ledger.Confirmed(), 20);
}

TEST(DeliveryLedger, CandidateWithoutMessagesIsConfirmedAtOnce) {
  DeliveryLedger<int> ledger(0);
  ledger.AddCandidate(7);
  EXPECT_EQ(ledger.Confirmed(), 7);
}

TEST(DeliveryLedger, ReleasedReservationsDoNotBlock) {
  DeliveryLedger<int> ledger(0);
  const uint64_t first = ledger.Reserve(2);
  ledger.Delivered(first);
  ledger.Release(first + 1);
  ledger.AddCandidate(9);
  EXPECT_EQ(ledger.Confirmed(), 9);
}

TEST(DeliveryLedger, ReportsHowLongTheConfirmedBatchWaited) {
  DeliveryLedger<int> ledger(0);
  const Clock::TimePoint t0{std::chrono::seconds(100)};
  const uint64_t first = ledger.Reserve(1);
  ledger.AddCandidate(1, t0);
  const auto waited = ledger.Delivered(first, t0 + std::chrono::milliseconds(250));
  ASSERT_TRUE(waited);
  EXPECT_EQ(*waited, std::chrono::milliseconds(250));
}

}  // namespace
}  // namespace cdc::producer
