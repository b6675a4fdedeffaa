#include "producer/snapshot_chunk.h"

#include <gtest/gtest.h>

namespace cdc::producer {
namespace {

event::Message Message(const std::string& key) {
  event::Message message;
  message.key = key;
  message.value = "r";
  return message;
}

TEST(KeyIdentity, DistinguishesTypesAndBoundaries) {
  EXPECT_EQ(KeyIdentity({int64_t{7}}), KeyIdentity({int64_t{7}}));
  EXPECT_NE(KeyIdentity({int64_t{7}}), KeyIdentity({std::string("7")}));
  EXPECT_NE(KeyIdentity({std::string("a"), std::string("bc")}),
            KeyIdentity({std::string("ab"), std::string("c")}));
  EXPECT_NE(KeyIdentity({std::monostate{}}), KeyIdentity({std::string()}));
  EXPECT_NE(KeyIdentity({1.5}), KeyIdentity({2.5}));
  EXPECT_NE(KeyIdentity({true}), KeyIdentity({false}));
}

TEST(HeldChunk, WaitsForTheWatermarkAndDropsKeysTheStreamPublishedMeanwhile) {
  HeldChunk chunk(120, KeysetPosition{"3"}, 3);
  chunk.Add(KeyIdentity({int64_t{1}}), {Message("k1")});
  chunk.Add(KeyIdentity({int64_t{2}}), {Message("k2")});
  chunk.Add(KeyIdentity({int64_t{3}}), {Message("k3")});
  EXPECT_FALSE(chunk.Ready(119));
  EXPECT_TRUE(chunk.Ready(120));
  chunk.Supersede(KeyIdentity({int64_t{2}}));
  chunk.Supersede(KeyIdentity({int64_t{2}}));  // twice: counted once
  chunk.Supersede(KeyIdentity({int64_t{9}}));  // not in the chunk
  const std::vector<event::Message> out = chunk.TakeMessages();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].key, "k1");
  EXPECT_EQ(out[1].key, "k3");
  EXPECT_EQ(chunk.superseded(), 1u);
  EXPECT_EQ(chunk.position(), 120);
  EXPECT_EQ(chunk.read(), 3u);
}

}  // namespace
}  // namespace cdc::producer
