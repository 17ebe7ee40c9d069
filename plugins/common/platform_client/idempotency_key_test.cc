#include "idempotency_key.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace kaigo::platform {
namespace {

TEST(IdempotencyKeyTest, AClientReferenceIsTheKeyAsItIs) {
  EXPECT_EQ(IdempotencyKey::FromClientReference("app-1a2b-r3").value(), "app-1a2b-r3");
  EXPECT_EQ(IdempotencyKey::FromClientReference("plan/1371000025/11").Header(),
            "Idempotency-Key: plan/1371000025/11");
}

TEST(IdempotencyKeyTest, AReferenceAHeaderCannotCarryIsHashedStably) {
  for (const std::string& reference :
       {std::string("ケアプラン-1"), std::string("with space"), std::string("quote\"d"),
        std::string(129, 'a'), std::string()}) {
    IdempotencyKey key = IdempotencyKey::FromClientReference(reference);
    EXPECT_EQ(key.value().substr(0, 4), "ref-") << reference;
    EXPECT_EQ(key.value().size(), 4u + 64u) << reference;
    EXPECT_EQ(key, IdempotencyKey::FromClientReference(reference)) << "stable";
  }
  EXPECT_NE(IdempotencyKey::FromClientReference("ケアプラン-1"),
            IdempotencyKey::FromClientReference("ケアプラン-2"));
  EXPECT_EQ(IdempotencyKey::FromClientReference(std::string(128, 'a')).value(),
            std::string(128, 'a'));
}

TEST(IdempotencyKeyTest, ADerivedKeyDependsOnEveryPartAndItsBoundaries) {
  IdempotencyKey key =
      IdempotencyKey::Derived("1371000017", "subsidy/attachment", {"app-1", "att-2", "e3b0c442"});
  EXPECT_EQ(key.value().substr(0, 2), "d-");
  EXPECT_EQ(key.value().size(), 2u + 64u);
  EXPECT_EQ(key, IdempotencyKey::Derived("1371000017", "subsidy/attachment",
                                         {"app-1", "att-2", "e3b0c442"}))
      << "the same content, the same key: a retry after a restart repeats it";
  std::set<std::string> distinct = {
      key.value(),
      IdempotencyKey::Derived("1371000025", "subsidy/attachment", {"app-1", "att-2", "e3b0c442"})
          .value(),
      IdempotencyKey::Derived("1371000017", "subsidy/application", {"app-1", "att-2", "e3b0c442"})
          .value(),
      IdempotencyKey::Derived("1371000017", "subsidy/attachment", {"app-1", "att-2", "e3b0c443"})
          .value(),
      IdempotencyKey::Derived("1371000017", "subsidy/attachment", {"app-1a", "tt-2", "e3b0c442"})
          .value(),
      IdempotencyKey::Derived("1371000017", "subsidy/attachment", {"app-1", "att-2e3b0c442"})
          .value(),
      IdempotencyKey::Derived("1371000017", "subsidy/attachment",
                              {"app-1", "att-2", "e3b0c442", ""})
          .value(),
  };
  EXPECT_EQ(distinct.size(), 7u) << "office, operation, each part and its boundaries count";
}

TEST(IdempotencyKeyTest, AFreshKeyIsNeverRepeated) {
  IdempotencyKey a = IdempotencyKey::Fresh();
  EXPECT_EQ(a.value().substr(0, 2), "f-");
  EXPECT_EQ(a.value().size(), 2u + 32u);
  EXPECT_NE(a, IdempotencyKey::Fresh());
}

}  // namespace
}  // namespace kaigo::platform
