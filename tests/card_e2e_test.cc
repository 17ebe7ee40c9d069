// The card reader concern over a real pcscd with virtual My Number cards, through the engine:
// reader and card events, card-info with the PIN, wrong PINs counting down to blocked, a card
// pulled out mid-read, two readers at once, a reader another program holds, qualification by card
// end to end through engine, plugins and the sandbox, and no PIN in any log the run produced.
#include <gtest/gtest.h>
#include <winscard.h>

#include <regex>
#include <thread>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "kaigo/v1/card_reader.grpc.pb.h"
#include "kaigo/v1/careplan_exchange.grpc.pb.h"
#include "kaigo/v1/qualification.grpc.pb.h"
#include "tests/support/into.h"
#include "tests/support/pcsc_stack.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;

constexpr char kSakura[] = "1371000017";
constexpr char kCard1[] = "20260400000000000001";  // 131011 / 0000100004
constexpr char kCard2[] = "20260400000000000002";  // 131011 / 0000100007
// PINs of the run; the last test searches every log for them.
const char* const kPins[] = {"7395", "2846", "6102"};

class CardE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pcscd = PcscDaemon::Start();
    ASSERT_TRUE(pcscd.ok()) << pcscd.status();
    pcscd_ = pcscd->release();
    auto stack = PlatformStack::Start(
        {"card_reader_pcsc", "qualification", "careplan_exchange"},
        [](const SandboxProcess& sandbox, const TempDir& dir) {
          std::vector<PlatformBinding> bindings = {
              {"kaigo.v1.CardReaderService",
               "card_reader_pcsc",
               {std::string("reader_prefix: \"") + PcscDaemon::kReaderPrefix + "\"",
                "busy_wait_ms: 1500", "my_number_roles: [office_admin]"},
               false},
              {"kaigo.v1.QualificationService", "qualification", {}},
              {"kaigo.v1.CarePlanExchangeService", "careplan_exchange", {"service_type: \"43\""}}};
          return PlatformOfficeYaml(sandbox, dir, kSakura, "sakura-cm", "Sakura#2026", bindings);
        },
        "debug");
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
    auto channel = InsecureChannel(stack_->engine->target());
    cards_ = v1::CardReaderService::NewStub(channel).release();
    qualification_ = v1::QualificationService::NewStub(channel).release();
    careplan_ = v1::CarePlanExchangeService::NewStub(channel).release();
  }
  static void TearDownTestSuite() {
    delete cards_;
    delete qualification_;
    delete careplan_;
    delete stack_;
    delete pcscd_;
  }

  static pid_t Insert(int slot, const std::string& cn, std::vector<std::string> args = {}) {
    args.insert(args.end(), {"--pin", kPins[0], "--info-pin", kPins[0]});
    auto pid = pcscd_->Insert(slot, stack_->sandbox->dir(), cn, args);
    EXPECT_TRUE(pid.ok()) << pid.status();
    return pid.ok() ? *pid : -1;
  }

  // Waits until ListReaders shows `slot` with (or without) a card; on failure, what the engine
  // last saw and pcscd's log.
  static ::testing::AssertionResult AwaitCard(int slot, bool present) {
    std::string last;
    for (int i = 0; i < 100; ++i) {
      v1::ListReadersResponse list;
      grpc::Status s = cards_->ListReaders(Context(kSakura).get(), {}, &list);
      last = s.ok() ? list.ShortDebugString() : s.error_message();
      for (const auto& r : list.readers()) {
        if (r.name() == PcscDaemon::Reader(slot) && r.card_present() == present) {
          return ::testing::AssertionSuccess();
        }
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return ::testing::AssertionFailure()
           << "slot " << slot << (present ? " never held a card" : " never emptied")
           << " in 10 s; ListReaders last: " << last << "\npcscd's log:\n"
           << pcscd_->PcscdLog();
  }

  // Takes the card out and waits until the engine sees the reader empty, so the next test's card
  // is not mistaken for this one (pcscd notices a removal at its next poll, up to 400 ms later).
  static void Eject(pid_t* card, int slot) {
    pcscd_->Remove(card);
    EXPECT_TRUE(AwaitCard(slot, false));
  }

  static grpc::Status Info(int slot, const std::string& pin, v1::CardInfo* info,
                           bool number = false) {
    v1::ReadCardInfoRequest req;
    req.set_reader(PcscDaemon::Reader(slot));
    req.set_pin(pin);
    req.set_include_my_number(number);
    return cards_->ReadCardInfo(Context(kSakura).get(), req, Into(info));
  }

  static PcscDaemon* pcscd_;
  static PlatformStack* stack_;
  static v1::CardReaderService::Stub* cards_;
  static v1::QualificationService::Stub* qualification_;
  static v1::CarePlanExchangeService::Stub* careplan_;
};

PcscDaemon* CardE2eTest::pcscd_ = nullptr;
PlatformStack* CardE2eTest::stack_ = nullptr;
v1::CardReaderService::Stub* CardE2eTest::cards_ = nullptr;
v1::QualificationService::Stub* CardE2eTest::qualification_ = nullptr;
v1::CarePlanExchangeService::Stub* CardE2eTest::careplan_ = nullptr;

TEST_F(CardE2eTest, InsertAndRemoveAreEvents) {
  auto context = Context(kSakura, absl::Seconds(30));
  auto stream = cards_->WatchReaders(context.get(), {});
  v1::WatchReadersResponse changed;
  ASSERT_TRUE(stream->Read(&changed));
  EXPECT_EQ(changed.event().kind(), v1::ReaderEvent::KIND_READER_ADDED);
  ASSERT_TRUE(stream->Read(&changed));
  EXPECT_EQ(changed.event().kind(), v1::ReaderEvent::KIND_READER_ADDED);
  pid_t card = Insert(0, kCard1);
  ASSERT_TRUE(stream->Read(&changed));
  EXPECT_EQ(changed.event().kind(), v1::ReaderEvent::KIND_CARD_INSERTED);
  EXPECT_EQ(changed.event().reader().name(), PcscDaemon::Reader(0));
  EXPECT_EQ(changed.event().reader().card_kind(), v1::CARD_KIND_MY_NUMBER);
  pcscd_->Remove(&card);
  ASSERT_TRUE(stream->Read(&changed));
  EXPECT_EQ(changed.event().kind(), v1::ReaderEvent::KIND_CARD_REMOVED);
  EXPECT_EQ(changed.event().reader().name(), PcscDaemon::Reader(0));
  context->TryCancel();
}

TEST_F(CardE2eTest, CardInfoWithTheCorrectPin) {
  pid_t card = Insert(0, kCard1);
  ASSERT_TRUE(AwaitCard(0, true));
  v1::CardInfo info;
  grpc::Status s = Info(0, kPins[0], &info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(info.name(), "山田 花子");
  EXPECT_EQ(info.address(), "東京都千代田区霞が関1-2-2");
  EXPECT_EQ(info.birth_date().year(), 1945);
  EXPECT_EQ(info.sex(), v1::SEX_FEMALE);
  EXPECT_TRUE(info.my_number().empty());
  EXPECT_EQ(info.apdus(), 5);
  s = Info(0, kPins[0], &info, true);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(info.my_number(), "123456789018");
  EXPECT_EQ(info.apdus(), 7);
  Eject(&card, 0);
}

// The ErrorInfo a program reads instead of the message: its reason and tries left; and a message
// for office staff in Japanese.
void ExpectReason(const grpc::Status& status, const std::string& reason,
                  const std::string& tries_left) {
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  bool found_info = false, found_staff = false;
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::LocalizedMessage staff;
    if (any.Is<google::rpc::ErrorInfo>() && any.UnpackTo(&info)) {
      found_info = true;
      EXPECT_EQ(info.reason(), reason);
      EXPECT_EQ(info.metadata().at("tries_left"), tries_left);
    } else if (any.Is<google::rpc::LocalizedMessage>() && any.UnpackTo(&staff)) {
      found_staff = true;
      EXPECT_EQ(staff.locale(), "ja-JP");
    }
  }
  EXPECT_TRUE(found_info && found_staff) << details.DebugString();
}

TEST_F(CardE2eTest, WrongPinsCountDownThenTheCardBlocks) {
  pid_t card = Insert(0, kCard1);
  ASSERT_TRUE(AwaitCard(0, true));
  v1::CardInfo info;
  grpc::Status first = Info(0, kPins[1], &info);
  EXPECT_EQ(first.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(first.error_message(), "pin: wrong PIN (tries_left=2)");
  ExpectReason(first, "WRONG_PIN", "2");
  EXPECT_EQ(Info(0, kPins[1], &info).error_message(), "pin: wrong PIN (tries_left=1)");
  grpc::Status third = Info(0, kPins[1], &info);
  EXPECT_EQ(third.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(third.error_message().find("blocked"), std::string::npos);
  ExpectReason(third, "PIN_BLOCKED", "0");
  EXPECT_EQ(Info(0, kPins[0], &info).error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << "the right PIN does not unblock";
  Eject(&card, 0);
}

TEST_F(CardE2eTest, ACardPulledOutMidReadIsAClearError) {
  pid_t card = Insert(0, kCard1, {"--die-after-apdus", "3"});
  ASSERT_TRUE(AwaitCard(0, true));
  v1::CardInfo info;
  absl::Time start = absl::Now();
  grpc::Status s = Info(0, kPins[0], &info);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  EXPECT_NE(s.error_message().find("removed"), std::string::npos);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "no hang";
  Eject(&card, 0);
}

TEST_F(CardE2eTest, TwoReadersAtOnce) {
  pid_t one = Insert(0, kCard1);
  pid_t two = Insert(1, kCard2);
  ASSERT_TRUE(AwaitCard(0, true));
  ASSERT_TRUE(AwaitCard(1, true));
  v1::ListReadersResponse list;
  ASSERT_TRUE(cards_->ListReaders(Context(kSakura).get(), {}, &list).ok());
  ASSERT_EQ(list.readers_size(), 2);
  for (const auto& r : list.readers()) EXPECT_EQ(r.card_kind(), v1::CARD_KIND_MY_NUMBER);
  v1::AuthenticateHolderRequest unnamed;
  unnamed.set_pin(kPins[0]);
  unnamed.set_challenge("abc");
  v1::HolderAuthentication ignored;
  EXPECT_EQ(cards_->AuthenticateHolder(Context(kSakura).get(), unnamed, Into(&ignored)).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // Both at the same time, each on its own reader.
  v1::HolderAuthentication auth[2];
  grpc::Status status[2];
  std::thread threads[2];
  for (int slot = 0; slot < 2; ++slot) {
    threads[slot] = std::thread([&, slot] {
      v1::AuthenticateHolderRequest req = unnamed;
      req.set_reader(PcscDaemon::Reader(slot));
      status[slot] = cards_->AuthenticateHolder(Context(kSakura).get(), req, Into(&auth[slot]));
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(status[0].ok()) << status[0].error_message();
  ASSERT_TRUE(status[1].ok()) << status[1].error_message();
  EXPECT_NE(auth[0].certificate(), auth[1].certificate());
  EXPECT_EQ(auth[0].apdus(), static_cast<int>(6 + (auth[0].certificate().size() + 255) / 256));
  Eject(&one, 0);
  Eject(&two, 1);
}

TEST_F(CardE2eTest, AReaderHeldByAnotherProgramIsRetriedThenUnavailable) {
  pid_t card = Insert(0, kCard1);
  ASSERT_TRUE(AwaitCard(0, true));
  SCARDCONTEXT ctx;
  ASSERT_EQ(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx), SCARD_S_SUCCESS);
  SCARDHANDLE held;
  DWORD protocol;
  ASSERT_EQ(SCardConnect(ctx, PcscDaemon::Reader(0).c_str(), SCARD_SHARE_EXCLUSIVE,
                         SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &held, &protocol),
            SCARD_S_SUCCESS);
  v1::CardInfo info;
  absl::Time start = absl::Now();
  grpc::Status busy = Info(0, kPins[0], &info);
  EXPECT_EQ(busy.error_code(), grpc::StatusCode::UNAVAILABLE) << busy.error_message();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(1400)) << "retried until busy_wait_ms";
  // Released while the plugin waits: the read goes through.
  std::thread release([&] {
    absl::SleepFor(absl::Milliseconds(500));
    SCardDisconnect(held, SCARD_LEAVE_CARD);
  });
  grpc::Status later = Info(0, kPins[0], &info);
  release.join();
  EXPECT_TRUE(later.ok()) << later.error_message();
  SCardReleaseContext(ctx);
  Eject(&card, 0);
}

TEST_F(CardE2eTest, QualificationByCardEndToEnd) {
  pid_t card = Insert(0, kCard1);
  ASSERT_TRUE(AwaitCard(0, true));
  v1::LookupByCardRequest req;
  req.set_pin(kPins[0]);
  v1::QualificationResult result;
  grpc::Status s =
      qualification_->LookupByCard(Context(kSakura, absl::Seconds(20)).get(), req, Into(&result));
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << stack_->engine->Log().substr(0, 3000);
  EXPECT_EQ(result.verdict(), v1::QUALIFICATION_VERDICT_VALID);
  EXPECT_EQ(result.recipient().insurer().value(), "131011");
  EXPECT_EQ(result.recipient().insured().value(), "0000100004");
  EXPECT_EQ(result.care_level(), v1::CARE_LEVEL_CARE_1);
  // A wrong PIN comes back as the card reader concern said it, details and all.
  req.set_pin(kPins[2]);
  s = qualification_->LookupByCard(Context(kSakura, absl::Seconds(20)).get(), req, Into(&result));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "pin: wrong PIN (tries_left=2)");
  ExpectReason(s, "WRONG_PIN", "2");
  Eject(&card, 0);
}

// 居宅サービス計画作成依頼届出 resting on the recipient's card: the holder must be the recipient.
TEST_F(CardE2eTest, CarePlanRequestNotificationByCard) {
  pid_t card = Insert(0, kCard1);
  ASSERT_TRUE(AwaitCard(0, true));
  v1::SubmitCarePlanRequestNotificationRequest n;
  n.mutable_insurer()->set_value("131011");
  n.mutable_insured()->set_value("0000100004");
  n.set_kind(v1::SubmitCarePlanRequestNotificationRequest::KIND_NEW);
  n.set_care_manager_name("佐藤　一郎");
  n.set_request_id("by-card-1");
  n.mutable_card()->set_pin(kPins[0]);
  v1::SubmitCarePlanRequestNotificationResponse receipt;
  grpc::Status s = careplan_->SubmitCarePlanRequestNotification(
      Context(kSakura, absl::Seconds(20)).get(), n, &receipt);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(receipt.notification_id().empty());
  EXPECT_EQ(receipt.identity_method(), v1::IDENTITY_METHOD_CARD);
  // The card in the reader is not the recipient named: refused.
  n.mutable_insured()->set_value("0000100007");
  n.set_request_id("by-card-2");
  s = careplan_->SubmitCarePlanRequestNotification(Context(kSakura, absl::Seconds(20)).get(), n,
                                                   &receipt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_NE(s.error_message().find("IDENTITY_MISMATCH"), std::string::npos) << s.error_message();
  Eject(&card, 0);
}

// Last: searches what every other test left behind.
TEST_F(CardE2eTest, ZNoPinInAnyLog) {
  std::string logs =
      stack_->engine->Log() + ReadFile(stack_->sandbox->dir() + "/sandbox.log") + pcscd_->Logs();
  ASSERT_FALSE(logs.empty());
  for (const char* pin : kPins) {
    std::regex alone(std::string("(^|[^0-9A-Za-z])") + pin + "([^0-9A-Za-z]|$)");
    EXPECT_FALSE(std::regex_search(logs, alone)) << "PIN " << pin << " appears in a log";
  }
}

}  // namespace
}  // namespace kaigo::testing
