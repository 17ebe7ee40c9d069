#include "card_data.h"

#include <gtest/gtest.h>

#include "tests/virtual_card/mynumber_card.h"

namespace kaigo::plugins::card {
namespace {

using kaigo::testing::Tlv;

TEST(CardDataTest, ApdusAreTheReferenceBytes) {
  EXPECT_EQ(SelectApplication(kJpkiAid),
            std::string("\x00\xA4\x04\x0C\x0A\xD3\x92\xF0\x00\x26\x01\x00\x00\x00\x01", 15));
  EXPECT_EQ(SelectFile(0x000A), std::string("\x00\xA4\x02\x0C\x02\x00\x0A", 7));
  EXPECT_EQ(ReadBinary(0x0100, 256), std::string("\x00\xB0\x01\x00\x00", 5));
  EXPECT_EQ(ReadBinary(7, 17), std::string("\x00\xB0\x00\x07\x11", 5));
  EXPECT_EQ(Verify("1234"), std::string("\x00\x20\x00\x80\x04"
                                        "1234",
                                        9));
  std::string info = Sha256DigestInfo("abc");
  ASSERT_EQ(info.size(), 51u);
  EXPECT_EQ(info.substr(0, 4), std::string("\x30\x31\x30\x0D", 4));
  std::string sign = ComputeSignature(info);
  EXPECT_EQ(sign.substr(0, 5), std::string("\x80\x2A\x00\x80\x33", 5));
  EXPECT_EQ(sign.back(), '\0');
}

TEST(CardDataTest, TlvLengthsFromTheirHeads) {
  EXPECT_EQ(*TlvTotalLength(std::string("\x30\x05", 2)), 7u);
  EXPECT_EQ(*TlvTotalLength(std::string("\x30\x81\x90", 3)), 3u + 0x90);
  EXPECT_EQ(*TlvTotalLength(std::string("\x30\x82\x04\xD2", 4)), 4u + 1234);
  EXPECT_EQ(*TlvTotalLength(std::string("\xFF\x20\x81\xC8", 4)), 4u + 200);
  EXPECT_EQ(TlvTotalLength(std::string("\x30\x82\x04", 3)).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(TlvTotalLength(std::string("\x30\x80", 2)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TlvTotalLength(std::string("\x30\x85\x01\x02\x03\x04\x05", 7)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CardDataTest, MyNumberAndAttributes) {
  EXPECT_EQ(*ParseMyNumber(Tlv("\xD0", "123456789018")), "123456789018");
  EXPECT_FALSE(ParseMyNumber(Tlv("\xD0", "12345678901")).ok());
  EXPECT_FALSE(ParseMyNumber(Tlv("\xD1", "123456789018")).ok());
  EXPECT_FALSE(ParseMyNumber(Tlv("\xD0", "12345678901X")).ok());
  std::string address(150, 'a');  // long enough for a two-byte outer length
  std::string ef = Tlv("\xFF\x20", Tlv("\xDF\x21", std::string(8, '\0')) + Tlv("\xDF\x22", "名前") +
                                       Tlv("\xDF\x23", address) + Tlv("\xDF\x24", "19450315") +
                                       Tlv("\xDF\x25", "2"));
  auto four = ParseBasicFour(ef + std::string(20, '\xFF'));  // padding after the TLV is ignored
  ASSERT_TRUE(four.ok()) << four.status();
  EXPECT_EQ(four->name, "名前");
  EXPECT_EQ(four->address, address);
  EXPECT_EQ(four->birth_date, "19450315");
  EXPECT_EQ(four->sex, "2");
  std::string no_sex =
      Tlv("\xFF\x20", Tlv("\xDF\x22", "n") + Tlv("\xDF\x23", "a") + Tlv("\xDF\x24", "b"));
  EXPECT_EQ(ParseBasicFour(no_sex).status().message(),
            "card data: attributes EF has no sex (DF25)");
  EXPECT_FALSE(ParseBasicFour(ef.substr(0, ef.size() - 3)).ok()) << "cut short";
}

TEST(CardDataTest, ResponsesSplitIntoDataAndStatus) {
  auto r = SplitResponse(std::string("\x01\x02\x90\x00", 4));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data, "\x01\x02");
  EXPECT_EQ(r->sw, 0x9000);
  EXPECT_EQ(SplitResponse(std::string("\x63\xC2", 2))->sw, 0x63C2);
  EXPECT_FALSE(SplitResponse("\x90").ok());
}

}  // namespace
}  // namespace kaigo::plugins::card
