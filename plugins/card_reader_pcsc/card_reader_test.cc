// The card reader plugin on the SDK's fake host with the in-process fake reader: readers and
// kinds, card-info with and without the My Number, wrong PINs counting down to blocked, a PIN of
// the wrong form never reaching the card, authentication whose signature verifies, a card pulled
// mid-read, a reader held by another program, reader events, and no PIN in any log.
#include "card_reader.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <filesystem>

#include "absl/time/clock.h"
#include "fake_transport.h"
#include "kaigo/sdk/fake_host.h"
#include "kaigo/v1/card_reader.pb.h"
#include "sandbox/certificates.h"

namespace kaigo::plugins::card {
namespace {

namespace v1 = kaigo::v1;
using sdk::testing::FakeHost;

constexpr char kList[] = "/kaigo.v1.CardReaderService/ListReaders";
constexpr char kWatch[] = "/kaigo.v1.CardReaderService/WatchReaders";
constexpr char kInfo[] = "/kaigo.v1.CardReaderService/ReadCardInfo";
constexpr char kAuth[] = "/kaigo.v1.CardReaderService/AuthenticateHolder";
constexpr char kReader[] = "Desk Reader 00 00";
constexpr char kOther[] = "Desk Reader 00 01";
constexpr char kCn[] = "20260400000000000001";

// Hands the plugin a transport the test keeps.
class Forward : public CardTransport {
 public:
  explicit Forward(FakeTransport* t) : t_(t) {}
  absl::StatusOr<std::vector<ReaderState>> Readers() override { return t_->Readers(); }
  absl::StatusOr<std::vector<ReaderState>> AwaitChange(const std::vector<ReaderState>& k,
                                                       absl::Duration d) override {
    return t_->AwaitChange(k, d);
  }
  void Interrupt() override { t_->Interrupt(); }
  absl::StatusOr<std::unique_ptr<CardSession>> Open(const std::string& r, absl::Time d) override {
    return t_->Open(r, d);
  }

 private:
  FakeTransport* t_;
};

class CardReaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + "/card-reader-test");
    std::filesystem::create_directories(*dir_);
    ASSERT_TRUE(sandbox::MakeJpkiCertificates(*dir_, {kCn}, absl::Now(), 30).ok());
  }
  static void TearDownTestSuite() { delete dir_; }

  void SetUp() override {
    transport_.AddReader(kReader);
    transport_.AddReader(kOther);
    kaigo::plugins::v1::CardReaderConfig config;
    config.set_busy_wait_ms(300);
    config.add_my_number_roles(kaigo::options::v1::ROLE_OFFICE_ADMIN);
    // Each test exports its own definition, over its own fake reader.
    const kaigo_plugin_api* api =
        sdk::ExportPlugin(DefineWith([this](const kaigo::plugins::v1::CardReaderConfig&) {
          return std::unique_ptr<CardTransport>(new Forward(&transport_));
        }));
    ASSERT_TRUE(host_.Load(api, config.SerializeAsString()).ok());
  }
  void TearDown() override { host_.Unload(); }

  std::shared_ptr<testing::MyNumberCard> NewCard(const std::string& pin = "4721") {
    auto profile = testing::ProfileFromFiles(*dir_, kCn);
    EXPECT_TRUE(profile.ok()) << profile.status();
    profile->auth_pin = pin;
    profile->info_pin = pin;
    auto card = testing::MyNumberCard::Create(*profile);
    EXPECT_TRUE(card.ok()) << card.status();
    return std::shared_ptr<testing::MyNumberCard>(std::move(*card));
  }

  sdk::testing::CallResult Info(const std::string& pin, bool number = false,
                                std::vector<std::string> roles = {}) {
    v1::ReadCardInfoRequest req;
    req.set_pin(pin);
    req.set_include_my_number(number);
    return host_.Call(kInfo, req.SerializeAsString(), absl::Seconds(10), std::move(roles));
  }

  sdk::testing::CallResult Auth(const std::string& pin, const std::string& challenge) {
    v1::AuthenticateHolderRequest req;
    req.set_pin(pin);
    req.set_challenge(challenge);
    return host_.Call(kAuth, req.SerializeAsString());
  }

  static std::string* dir_;
  FakeTransport transport_;
  FakeHost host_;
};

std::string* CardReaderTest::dir_ = nullptr;

TEST_F(CardReaderTest, ListsReadersWithTheCardKindBySelection) {
  transport_.Insert(kReader, NewCard());
  auto list = host_.CallUnary<v1::ListReadersResponse>(kList, v1::ListReadersRequest());
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->readers_size(), 2);
  EXPECT_EQ(list->readers(0).name(), kReader);
  EXPECT_TRUE(list->readers(0).card_present());
  EXPECT_EQ(list->readers(0).card_kind(), v1::CARD_KIND_MY_NUMBER);
  EXPECT_EQ(list->readers(1).card_kind(), v1::CARD_KIND_NONE);
}

TEST_F(CardReaderTest, ReadsTheCardInfoAndTheMyNumberOnlyForAllowedRoles) {
  transport_.Insert(kReader, NewCard());
  auto result = Info("4721");
  ASSERT_TRUE(result.status.ok()) << result.status;
  v1::ReadCardInfoResponse answer;
  ASSERT_TRUE(answer.ParseFromString(result.response));
  const v1::CardInfo& info = answer.card();
  EXPECT_EQ(info.name(), "山田 花子");
  EXPECT_EQ(info.birth_date().year(), 1945);
  EXPECT_EQ(info.sex(), v1::SEX_FEMALE);
  EXPECT_TRUE(info.my_number().empty());
  EXPECT_EQ(info.apdus(), 5);

  auto refused = Info("4721", true, {"care_manager"});
  EXPECT_EQ(refused.status.code(), absl::StatusCode::kPermissionDenied);
  auto allowed = Info("4721", true, {"office_admin"});
  ASSERT_TRUE(allowed.status.ok()) << allowed.status;
  ASSERT_TRUE(answer.ParseFromString(allowed.response));
  EXPECT_EQ(answer.card().my_number(), "123456789018");
  EXPECT_EQ(answer.card().apdus(), 7);

  // Every read is a disclosure of its holder: audited, with whether the My Number was included,
  // never the card's values or the PIN.
  auto audits = host_.Audits();
  ASSERT_EQ(audits.size(), 3u);
  EXPECT_EQ(audits[0].action, kInfo);
  EXPECT_EQ(audits[0].subject_ref, "card");
  EXPECT_EQ(audits[0].outcome, 0);
  EXPECT_EQ(audits[1].outcome, static_cast<int32_t>(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(audits[2].detail, "with the My Number");
  for (const auto& a : audits) {
    EXPECT_EQ(a.detail.find("4721"), std::string::npos);
    EXPECT_EQ(a.detail.find("山田"), std::string::npos);
  }
}

TEST_F(CardReaderTest, WrongPinsCountDownToBlocked) {
  auto card = NewCard();
  transport_.Insert(kReader, card);
  EXPECT_EQ(Info("0000").status.message(), "pin: wrong PIN (tries_left=2)");
  EXPECT_EQ(Info("0000").status.code(), absl::StatusCode::kUnauthenticated);
  auto third = Info("0000");
  EXPECT_EQ(third.status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(third.status.message().find("blocked"), std::string::npos);
  auto right = Info("4721");
  EXPECT_EQ(right.status.code(), absl::StatusCode::kPermissionDenied) << "blocked stays blocked";
  // The authentication PIN is a different PIN: still usable.
  EXPECT_TRUE(Auth("4721", "challenge").status.ok());
}

TEST_F(CardReaderTest, APinOfTheWrongFormNeverReachesTheCard) {
  auto card = NewCard();
  transport_.Insert(kReader, card);
  int before = card->apdus();
  for (const char* pin : {"123", "12345", "12a4", "１２３４", ""}) {
    auto r = Info(pin);
    EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument) << pin;
    EXPECT_EQ(r.status.message(), "pin: must be 4 half-width digits");
  }
  EXPECT_EQ(card->apdus(), before);
}

TEST_F(CardReaderTest, AuthenticationSignsTheChallengeWithTheCertificatesKey) {
  transport_.Insert(kReader, NewCard());
  std::string challenge = "nonce-from-the-platform-0123456789";
  auto result = Auth("4721", challenge);
  ASSERT_TRUE(result.status.ok()) << result.status;
  v1::AuthenticateHolderResponse answer;
  ASSERT_TRUE(answer.ParseFromString(result.response));
  const v1::HolderAuthentication& auth = answer.authentication();
  const unsigned char* p = reinterpret_cast<const unsigned char*>(auth.certificate().data());
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(auth.certificate().size()));
  ASSERT_NE(cert, nullptr);
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EXPECT_EQ(EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, X509_get0_pubkey(cert)), 1);
  EXPECT_EQ(
      EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(auth.signature().data()),
                       auth.signature().size(),
                       reinterpret_cast<const unsigned char*>(challenge.data()), challenge.size()),
      1);
  EVP_MD_CTX_free(md);
  X509_free(cert);
  size_t reads = (auth.certificate().size() + 255) / 256;
  EXPECT_EQ(auth.apdus(), static_cast<int>(6 + reads));
  EXPECT_EQ(Auth("4721", "").status.code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CardReaderTest, ACardPulledMidReadIsAClearErrorNotAHang) {
  transport_.Insert(kReader, NewCard(), /*pull_after_apdus=*/3);
  v1::ReadCardInfoRequest req;
  req.set_reader(kReader);  // named: no kind detection before the read
  req.set_pin("4721");
  auto r = host_.Call(kInfo, req.SerializeAsString(), absl::Seconds(5));
  EXPECT_EQ(r.status.code(), absl::StatusCode::kAborted) << r.status;
  EXPECT_NE(r.status.message().find("removed"), std::string::npos);
}

TEST_F(CardReaderTest, AReaderHeldElsewhereIsRetriedUntilTheDeadline) {
  transport_.Insert(kReader, NewCard());
  transport_.HoldElsewhere(kReader, true);
  v1::ReadCardInfoRequest req;
  req.set_reader(kReader);
  req.set_pin("4721");
  auto busy = host_.Call(kInfo, req.SerializeAsString());
  EXPECT_EQ(busy.status.code(), absl::StatusCode::kUnavailable) << busy.status;
  auto pending = host_.Start(kInfo, req.SerializeAsString());
  absl::SleepFor(absl::Milliseconds(100));
  transport_.HoldElsewhere(kReader, false);
  ASSERT_TRUE(pending->WaitFinished(absl::Seconds(5)));
  EXPECT_TRUE(pending->Result().status.ok()) << pending->Result().status;
}

TEST_F(CardReaderTest, WatchStreamsTheReadersThenEachChange) {
  auto watch = host_.Start(kWatch, v1::WatchReadersRequest().SerializeAsString());
  ASSERT_TRUE(watch->WaitForMessages(2, absl::Seconds(5)));  // the two readers, empty
  transport_.Insert(kOther, NewCard());
  ASSERT_TRUE(watch->WaitForMessages(3, absl::Seconds(5)));
  transport_.Remove(kOther);
  ASSERT_TRUE(watch->WaitForMessages(4, absl::Seconds(5)));
  watch->Cancel();
  ASSERT_TRUE(watch->WaitFinished(absl::Seconds(5)));
  auto messages = watch->Result().messages;
  ASSERT_EQ(messages.size(), 4u);
  v1::WatchReadersResponse changed;
  ASSERT_TRUE(changed.ParseFromString(messages[0]));
  EXPECT_EQ(changed.event().kind(), v1::ReaderEvent::KIND_READER_ADDED);
  ASSERT_TRUE(changed.ParseFromString(messages[2]));
  EXPECT_EQ(changed.event().kind(), v1::ReaderEvent::KIND_CARD_INSERTED);
  EXPECT_EQ(changed.event().reader().name(), kOther);
  EXPECT_EQ(changed.event().reader().card_kind(), v1::CARD_KIND_MY_NUMBER);
  ASSERT_TRUE(changed.ParseFromString(messages[3]));
  EXPECT_EQ(changed.event().kind(), v1::ReaderEvent::KIND_CARD_REMOVED);
}

TEST_F(CardReaderTest, NoPinInAnyLog) {
  transport_.Insert(kReader, NewCard());
  Info("0917");
  Info("4721");
  Auth("4721", "x");
  for (const auto& line : host_.Logs()) {
    EXPECT_EQ(line.find("4721"), std::string::npos) << line;
    EXPECT_EQ(line.find("0917"), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace kaigo::plugins::card
