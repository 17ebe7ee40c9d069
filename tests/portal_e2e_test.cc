// Portal first-time registration end to end through engine, plugins and the sandbox's portal:
// さくら reads its one-time passwords from its mailbox (otp_mailbox over IMAPS from a real
// dovecot), ひまわり has an operator type them (otp_relay) — the same flow, switched by
// configuration only. Then 5 added users and the 6th refused; a repeated registration refused with
// the portal's message; the engine SIGKILLed after each step and the flow resumed without asking
// twice; and the bad inputs: a wrong and an expired one-time password, a locked e-claim account,
// the temporary password.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/v1/otp.grpc.pb.h"
#include "kaigo/v1/portal_registration.grpc.pb.h"
#include "tests/support/into.h"
#include "tests/support/imap_server.h"
#include "tests/support/maildir.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;

constexpr char kSakura[] = "1371000017";  // mailbox; e-claim and first user: office@sakura.example
constexpr char kHimawari[] = "1371000025";  // relay; security code 4321
constexpr char kAoba[] = "1371000033";      // temporary e-claim password
constexpr char kMidori[] = "1312345670";    // for the lockout
constexpr char kSakuraMail[] = "office@sakura.example";

class PortalE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    imap_ = nullptr;
    auto stack = PlatformStack::Start(
        {"portal_registration", "otp_relay", "otp_mailbox"},
        [](const SandboxProcess& sandbox, const TempDir& dir) {
          auto imap = ImapServer::Start(sandbox.dir() + "/mail", sandbox.dir());
          EXPECT_TRUE(imap.ok()) << imap.status();
          imap_ = imap.ok() ? imap->release() : nullptr;
          std::vector<std::pair<std::string, std::string>> secrets = {
              {"sealing_key", dir.Write("secrets/sealing_key", std::string(64, 'c') + "\n")}};
          PlatformBinding mailbox = MailboxBinding(imap_, sandbox, dir, kSakuraMail, &secrets);
          PlatformBinding portal = {"kaigo.v1.PortalRegistrationService",
                                    "portal_registration",
                                    {"sealing_key_secret: sealing_key", "otp_timeout_seconds: 20"}};
          PlatformBinding relay = {
              "kaigo.v1.OtpService", "otp_relay", {"default_timeout_seconds: 20"}, false};
          return PlatformOfficeYaml(sandbox, dir, kSakura, "sakura-cm", "Sakura#2026",
                                    {portal, mailbox}, secrets) +
                 PlatformOfficeYaml(sandbox, dir, kHimawari, "himawari-staff", "Himawari#2026",
                                    {portal, relay}, secrets) +
                 PlatformOfficeYaml(sandbox, dir, kAoba, "aoba-cm", "Aoba#2026", {portal, relay},
                                    secrets) +
                 PlatformOfficeYaml(sandbox, dir, kMidori, "midori-dr", "Midori#2026",
                                    {portal, relay}, secrets);
        });
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
    Connect();
  }
  static void TearDownTestSuite() {
    delete portal_;
    delete otp_;
    delete stack_;
    delete imap_;
  }
  static void Connect() {
    delete portal_;
    delete otp_;
    auto channel = InsecureChannel(stack_->engine->target());
    portal_ = v1::PortalRegistrationService::NewStub(channel).release();
    otp_ = v1::OtpService::NewStub(channel).release();
  }
  // SIGKILL, then a new engine on the same configuration and store.
  static void Crash() {
    stack_->engine->Signal(SIGKILL);
    stack_->engine->Stop();
    auto engine = EngineProcess::Start(stack_->config);
    ASSERT_TRUE(engine.ok()) << engine.status();
    stack_->engine = *std::move(engine);
    Connect();
  }

  static std::string MailRoot() { return stack_->sandbox->dir() + "/mail"; }
  static std::vector<plugins::otp_mailbox::MailMessage> Mails(const std::string& address,
                                                              const std::string& subject) {
    return MailsTo(MailRoot(), address, subject);
  }
  static std::string LatestCode(const std::string& address) {
    return FromNewestMail(MailRoot(), address, "ワンタイムパスワード",
                          "ワンタイムパスワード：(\\d+)");
  }
  static std::string InitialPassword(const std::string& address) {
    return FromNewestMail(MailRoot(), address, "ユーザ登録完了", "初期パスワード：(\\S+)");
  }

  static v1::UserDetails Details(const std::string& email, const std::string& name) {
    v1::UserDetails d;
    d.set_email(email);
    d.set_name(name);
    d.set_name_kana("カイゴ　タロウ");
    d.set_phone("0312345678");
    return d;
  }

  static grpc::Status Start(const std::string& office, const std::string& kj,
                            const std::string& password, v1::RegistrationFlow* flow,
                            const std::string& security_code = "") {
    v1::StartFirstTimeRegistrationRequest req;
    req.set_eclaim_user_id(kj);
    req.set_eclaim_password(password);
    req.set_security_code(security_code);
    return portal_->StartFirstTimeRegistration(Context(office, absl::Seconds(30)).get(), req, Into(flow));
  }

  // The operator's part with otp_relay: waits for the pending request and types the code from the
  // mail (or `code`).
  static void Operator(const std::string& office, const std::string& address,
                       const std::string& code = "") {
    for (int i = 0; i < 200; ++i) {
      v1::ListPendingResponse pending;
      if (otp_->ListPending(Context(office).get(), {}, &pending).ok() &&
          pending.pending_size() > 0) {
        v1::ProvideOtpRequest provide;
        provide.set_otp_id(pending.pending(0).otp_id());
        provide.set_code(code.empty() ? LatestCode(address) : code);
        v1::ProvideOtpResponse ignored;
        EXPECT_TRUE(otp_->ProvideOtp(Context(office).get(), provide, &ignored).ok());
        return;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "no pending OTP request for " << office;
  }

  static grpc::Status SubmitOtp(const std::string& office, const std::string& flow_id,
                                v1::RegistrationFlow* flow, const std::string& code = "") {
    v1::SubmitOneTimePasswordRequest req;
    req.set_flow_id(flow_id);
    req.set_code(code);
    return portal_->SubmitOneTimePassword(Context(office, absl::Seconds(40)).get(), req, Into(flow));
  }

  static grpc::Status FirstLogin(const std::string& office, const std::string& flow_id,
                                 const std::string& initial, v1::RegistrationFlow* flow) {
    v1::CompleteFirstLoginRequest req;
    req.set_flow_id(flow_id);
    req.set_initial_password(initial);
    req.set_new_password("NewPass2026x");
    req.set_new_password_confirmation("NewPass2026x");
    req.set_terms_accepted(true);
    return portal_->CompleteFirstLogin(Context(office, absl::Seconds(40)).get(), req, Into(flow));
  }

  static PlatformStack* stack_;
  static ImapServer* imap_;
  static v1::PortalRegistrationService::Stub* portal_;
  static v1::OtpService::Stub* otp_;
};

PlatformStack* PortalE2eTest::stack_ = nullptr;
ImapServer* PortalE2eTest::imap_ = nullptr;
v1::PortalRegistrationService::Stub* PortalE2eTest::portal_ = nullptr;
v1::OtpService::Stub* PortalE2eTest::otp_ = nullptr;

TEST_F(PortalE2eTest, RegistrationWithTheMailboxThenFiveUsersAndNoSixth) {
  v1::RegistrationFlow flow;
  grpc::Status s = Start(kSakura, "KJ000000000017", "Eclaim#Sakura1", &flow);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(flow.next_step(), v1::REGISTRATION_STEP_ONE_TIME_PASSWORD);
  s = SubmitOtp(kSakura, flow.flow_id(), &flow);  // read from the mailbox over IMAPS
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << (imap_ ? imap_->Log() : "");
  EXPECT_EQ(flow.next_step(), v1::REGISTRATION_STEP_USER_DETAILS);
  v1::SubmitUserDetailsRequest details;
  details.set_flow_id(flow.flow_id());
  *details.mutable_details() = Details(kSakuraMail, "佐藤 花子");
  ASSERT_TRUE(portal_->SubmitUserDetails(Context(kSakura).get(), details, Into(&flow)).ok());
  EXPECT_EQ(flow.next_step(), v1::REGISTRATION_STEP_CONFIRM);
  v1::ConfirmRequest confirm;
  confirm.set_flow_id(flow.flow_id());
  ASSERT_TRUE(portal_->Confirm(Context(kSakura).get(), confirm, Into(&flow)).ok());
  EXPECT_EQ(flow.next_step(), v1::REGISTRATION_STEP_FIRST_LOGIN);
  std::string initial = InitialPassword(kSakuraMail);
  ASSERT_FALSE(initial.empty());
  s = FirstLogin(kSakura, flow.flow_id(), initial, &flow);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(flow.next_step(), v1::REGISTRATION_STEP_DONE);
  EXPECT_EQ(flow.user_name(), "佐藤 花子");
  EXPECT_EQ(flow.office_name(), "さくら居宅介護支援事業所");

  for (int i = 1; i <= 5; ++i) {
    v1::AddUserRequest add;
    *add.mutable_details() = Details("user" + std::to_string(i) + "@sakura.example", "職員");
    v1::PortalUser user;
    grpc::Status added = portal_->AddUser(Context(kSakura).get(), add, Into(&user));
    ASSERT_TRUE(added.ok()) << i << ": " << added.error_message();
  }
  v1::AddUserRequest sixth;
  *sixth.mutable_details() = Details("user6@sakura.example", "職員");
  v1::PortalUser user;
  grpc::Status refused = portal_->AddUser(Context(kSakura).get(), sixth, Into(&user));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("追加できるユーザは5名までです。"), std::string::npos);
  v1::ListUsersResponse users;
  ASSERT_TRUE(portal_->ListUsers(Context(kSakura).get(), {}, &users).ok());
  EXPECT_EQ(users.users_size(), 6);
  EXPECT_EQ(users.added(), 5);

  // Registration is once per office.
  grpc::Status again = Start(kSakura, "KJ000000000017", "Eclaim#Sakura1", &flow);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(again.error_message(),
            "同一組織で新規登録が完了しています。登録済みユーザからユーザ作成を行って下さい。");
}

TEST_F(PortalE2eTest, RegistrationWithTheRelaySurvivesAKillAfterEachStep) {
  const std::string eclaim = "eclaim@himawari.example", first = "kanri@himawari.example";
  v1::RegistrationFlow flow;
  grpc::Status s = Start(kHimawari, "KJ000000000025", "Eclaim#Himawari1", &flow);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << "the security code is missing";
  s = Start(kHimawari, "KJ000000000025", "Eclaim#Himawari1", &flow, "4321");
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::string id = flow.flow_id();
  Crash();
  v1::GetFlowRequest get;
  get.set_flow_id(id);
  ASSERT_TRUE(portal_->GetFlow(Context(kHimawari).get(), get, Into(&flow)).ok());
  EXPECT_EQ(flow.next_step(), v1::REGISTRATION_STEP_ONE_TIME_PASSWORD);

  // A wrong code from the operator is refused and the flow stays; the right one goes through.
  std::thread wrong([&] { Operator(kHimawari, eclaim, "000000"); });
  s = SubmitOtp(kHimawari, id, &flow);
  wrong.join();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("code: the portal refused"), std::string::npos);
  std::thread right([&] { Operator(kHimawari, eclaim); });
  s = SubmitOtp(kHimawari, id, &flow);
  right.join();
  ASSERT_TRUE(s.ok()) << s.error_message();
  Crash();
  ASSERT_TRUE(portal_->GetFlow(Context(kHimawari).get(), get, Into(&flow)).ok());
  EXPECT_EQ(flow.next_step(), v1::REGISTRATION_STEP_USER_DETAILS);
  // Resubmitting a step already taken asks nothing.
  ASSERT_TRUE(SubmitOtp(kHimawari, id, &flow).ok());
  EXPECT_EQ(flow.next_step(), v1::REGISTRATION_STEP_USER_DETAILS);

  v1::SubmitUserDetailsRequest details;
  details.set_flow_id(id);
  *details.mutable_details() = Details(first, "鈴木 一郎");
  details.mutable_details()->set_phone("03-1234-5678");
  grpc::Status bad = portal_->SubmitUserDetails(Context(kHimawari).get(), details, Into(&flow));
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad.error_message(), "details.phone: write the number without hyphens");
  google::rpc::Status why;  // the same for a program: the field and the rule
  ASSERT_TRUE(why.ParseFromString(bad.error_details()));
  google::rpc::BadRequest violations;
  ASSERT_TRUE(why.details_size() == 1 && why.details(0).UnpackTo(&violations));
  ASSERT_EQ(violations.field_violations_size(), 1);
  EXPECT_EQ(violations.field_violations(0).field(), "details.phone");
  EXPECT_EQ(violations.field_violations(0).reason(), "INVALID_PHONE");
  details.mutable_details()->set_phone("0312345678");
  ASSERT_TRUE(portal_->SubmitUserDetails(Context(kHimawari).get(), details, Into(&flow)).ok());
  Crash();
  v1::ConfirmRequest confirm;
  confirm.set_flow_id(id);
  ASSERT_TRUE(portal_->Confirm(Context(kHimawari).get(), confirm, Into(&flow)).ok());
  EXPECT_EQ(flow.next_step(), v1::REGISTRATION_STEP_FIRST_LOGIN);
  Crash();
  ASSERT_TRUE(portal_->Confirm(Context(kHimawari).get(), confirm, Into(&flow)).ok()) << "idempotent";
  EXPECT_EQ(flow.next_step(), v1::REGISTRATION_STEP_FIRST_LOGIN);

  std::thread login_otp([&] { Operator(kHimawari, first); });
  s = FirstLogin(kHimawari, id, InitialPassword(first), &flow);
  login_otp.join();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(flow.next_step(), v1::REGISTRATION_STEP_DONE);
  EXPECT_EQ(flow.office_name(), "ひまわり訪問介護");
  Crash();
  ASSERT_TRUE(portal_->GetFlow(Context(kHimawari).get(), get, Into(&flow)).ok());
  EXPECT_EQ(flow.next_step(), v1::REGISTRATION_STEP_DONE);
  v1::ListUsersResponse users;
  ASSERT_TRUE(portal_->ListUsers(Context(kHimawari).get(), {}, &users).ok()) << "session kept";
  // One code per one-time password step: nothing was asked twice.
  EXPECT_EQ(Mails(eclaim, "ワンタイムパスワード").size(), 1u);
  EXPECT_EQ(Mails(first, "ワンタイムパスワード").size(), 1u);
  // Nothing sealed is left but the portal session.
  CommandResult dump = RunCommand("sqlite3 " + stack_->dir->path() + "/state.db .dump");
  EXPECT_EQ(dump.output.find("NewPass2026x"), std::string::npos);
}

TEST_F(PortalE2eTest, AStartWithARequestIdKilledAfterThePortalBeganItIsOneRegistration) {
  v1::StartFirstTimeRegistrationRequest req;
  req.set_eclaim_user_id("KJ000000001234");
  req.set_eclaim_password("Eclaim#Midori1");
  req.set_request_id("midori-start-1");
  const std::string count = "sqlite3 " + stack_->sandbox->dir() +
                            "/portal.db \"SELECT count(*) FROM registrations WHERE office = '" +
                            kMidori + "'\"";
  const std::string before = RunCommand(count).output;
  ASSERT_TRUE(
      stack_->sandbox
          ->Faults(absl::StrCat(R"({"kill_after": {"path": "/portal/v1/registration/eclaim",)",
                                R"( "pid": )", stack_->engine->pid(), "}}"))
          .ok());
  v1::RegistrationFlow flow;
  EXPECT_FALSE(
      portal_->StartFirstTimeRegistration(Context(kMidori, absl::Seconds(30)).get(), req, Into(&flow))
          .ok());
  Crash();
  ASSERT_TRUE(stack_->sandbox->Faults("{}").ok());
  grpc::Status s =
      portal_->StartFirstTimeRegistration(Context(kMidori, absl::Seconds(30)).get(), req, Into(&flow));
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(flow.next_step(), v1::REGISTRATION_STEP_ONE_TIME_PASSWORD);
  v1::RegistrationFlow again;
  ASSERT_TRUE(
      portal_->StartFirstTimeRegistration(Context(kMidori, absl::Seconds(30)).get(), req, Into(&again))
          .ok());
  EXPECT_EQ(again.flow_id(), flow.flow_id()) << "the same flow, not a new one";
  EXPECT_EQ(std::stoi(RunCommand(count).output), std::stoi(before) + 1)
      << "one registration on the portal";
  EXPECT_EQ(Mails("eclaim@midori.example", "ワンタイムパスワード").size(), 1u)
      << "one one-time password mailed";
}

TEST_F(PortalE2eTest, BadCredentialsAndExpiredCodes) {
  v1::RegistrationFlow flow;
  grpc::Status temporary = Start(kAoba, "KJ000000000033", "KARI-0033", &flow);
  EXPECT_EQ(temporary.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(temporary.error_message().find("temporary password"), std::string::npos);
  grpc::Status malformed = Start(kAoba, "XY000000000033", "x", &flow);
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(malformed.error_message().rfind("eclaim_user_id: ", 0), 0u);

  // An expired one-time password.
  grpc::Status s = Start(kMidori, "KJ000000001234", "Eclaim#Midori1", &flow);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(stack_->sandbox->Faults(R"({"expire_otps": true})").ok());
  s = SubmitOtp(kMidori, flow.flow_id(), &flow, LatestCode("eclaim@midori.example"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("expired"), std::string::npos);

  // Three wrong passwords lock the e-claim account.
  grpc::Status wrong = Start(kMidori, "KJ000000001234", "wrong", &flow);
  EXPECT_NE(wrong.error_message().find("tries_left=2"), std::string::npos);
  google::rpc::ErrorInfo refused;  // the same for a program: the portal's code and tries left
  ASSERT_TRUE(sdk::FindDetail(WithDetails(wrong), &refused)) << wrong.error_message();
  EXPECT_EQ(refused.reason(), "ECLAIM_AUTH_FAILED");
  EXPECT_EQ(refused.domain(), "portal.kaigo-kiban");
  EXPECT_EQ(refused.metadata().at("tries_left"), "2");
  google::rpc::LocalizedMessage staff;
  ASSERT_TRUE(sdk::FindDetail(WithDetails(wrong), &staff));
  EXPECT_EQ(staff.locale(), "ja-JP");
  Start(kMidori, "KJ000000001234", "wrong", &flow);
  grpc::Status locked = Start(kMidori, "KJ000000001234", "wrong", &flow);
  EXPECT_EQ(locked.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  locked = Start(kMidori, "KJ000000001234", "Eclaim#Midori1", &flow);
  EXPECT_EQ(locked.error_code(), grpc::StatusCode::PERMISSION_DENIED) << "even the right one";
  EXPECT_NE(locked.error_message().find("locked for 30 minutes"), std::string::npos);
  ASSERT_TRUE(sdk::FindDetail(WithDetails(locked), &refused));
  EXPECT_EQ(refused.reason(), "ECLAIM_LOCKED");
}

}  // namespace
}  // namespace kaigo::testing
