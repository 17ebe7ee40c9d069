// PortalRegistration on the SDK's fake host, the portal scripted (fake_platform.h): the
// first-time registration step by step as a stored flow, a step the portal did not take resumed
// by the retry from where the flow stands (no step done twice), a one-time password asked of the
// OTP concern when the caller gives none, and each step's Idempotency-Key.
#include "portal_registration.h"

#include <gtest/gtest.h>

#include "fake_platform.h"
#include "kaigo/plugins/v1/portal_registration_config.pb.h"
#include "kaigo/sdk/fake_host.h"
#include "kaigo/v1/otp.pb.h"
#include "kaigo/v1/portal_registration.pb.h"
#include "unreachable_platform.h"

namespace kaigo::plugins::portal {
namespace {

namespace v1 = kaigo::v1;
using platform::testing::FakePlatform;
using sdk::testing::FakeHost;

constexpr char kService[] = "/kaigo.v1.PortalRegistrationService/";

const kaigo_plugin_api* Api() { return FakePlatform::Exported<&DefineWith>(); }

class PortalRegistrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kaigo::plugins::v1::PortalRegistrationConfig config;
    platform::testing::UseUnreachablePlatform(&host_, config.mutable_platform());
    host_.SetSecret("seal", std::string(64, 'a'));
    config.set_sealing_key_secret("seal");
    config.set_otp_timeout_seconds(5);
    host_.SetOutgoingHandler(
        [this](std::string_view method, std::string_view) -> absl::StatusOr<std::string> {
          if (method != "/kaigo.v1.OtpService/RequestOtp") return absl::UnimplementedError("");
          ++otp_requests_;
          v1::RequestOtpResponse otp;
          otp.set_code("654321");
          return otp.SerializeAsString();
        });
    absl::Status loaded = host_.Load(Api(), config.SerializeAsString());
    ASSERT_TRUE(loaded.ok()) << loaded;

    platform_.On("POST", "/portal/v1/registration/eclaim",
                 FakePlatform::Json(R"({"registration_id":"R1"})"));
    platform_.On("POST", "/portal/v1/registration/R1/*", FakePlatform::Json("{}"));
    platform_.On("POST", "/portal/v1/login", FakePlatform::Json(R"({"login_id":"L1"})"));
    platform_.On("POST", "/portal/v1/login/L1/otp", FakePlatform::Json("{}"));
    platform_.On("GET", "/portal/v1/login/L1/terms", FakePlatform::Json(R"({"terms":"…"})"));
    platform_.On("POST", "/portal/v1/login/L1/password",
                 FakePlatform::Json(R"({"session":"S1","mypage":{"user_name":"介護 太郎",
                                    "office_name":"さくら居宅介護支援事業所"}})"));
  }

  template <class Response>
  absl::StatusOr<v1::RegistrationFlow> Step(const char* method,
                                            const google::protobuf::Message& req) {
    auto r = host_.CallUnary<Response>(std::string(kService) + method, req);
    if (!r.ok()) return r.status();
    return r->flow();
  }

  // A flow through Start, the OTP (given), the details and Confirm: at the first login.
  std::string Confirmed() {
    v1::StartFirstTimeRegistrationRequest start;
    start.set_eclaim_user_id("KJ000000001234");
    start.set_eclaim_password("eclaim-pass");
    auto flow = Step<v1::StartFirstTimeRegistrationResponse>("StartFirstTimeRegistration", start);
    EXPECT_TRUE(flow.ok()) << flow.status();
    if (!flow.ok()) return "";
    v1::SubmitOneTimePasswordRequest otp;
    otp.set_flow_id(flow->flow_id());
    otp.set_code("123456");
    EXPECT_TRUE(Step<v1::SubmitOneTimePasswordResponse>("SubmitOneTimePassword", otp).ok());
    v1::SubmitUserDetailsRequest details;
    details.set_flow_id(flow->flow_id());
    auto* d = details.mutable_details();
    d->set_email("taro@example.jp");
    d->set_name("介護　太郎");
    d->set_name_kana("カイゴ　タロウ");
    d->set_phone("0312345678");
    auto detailed = Step<v1::SubmitUserDetailsResponse>("SubmitUserDetails", details);
    EXPECT_TRUE(detailed.ok()) << detailed.status();
    v1::ConfirmRequest confirm;
    confirm.set_flow_id(flow->flow_id());
    auto confirmed = Step<v1::ConfirmResponse>("Confirm", confirm);
    EXPECT_TRUE(confirmed.ok()) << confirmed.status();
    EXPECT_EQ(confirmed.ok() ? confirmed->next_step() : v1::REGISTRATION_STEP_UNSPECIFIED,
              v1::REGISTRATION_STEP_FIRST_LOGIN);
    return flow->flow_id();
  }

  absl::StatusOr<v1::RegistrationFlow> FirstLogin(const std::string& flow_id, bool passwords) {
    v1::CompleteFirstLoginRequest req;
    req.set_flow_id(flow_id);
    if (passwords) {
      req.set_initial_password("initial-1");
      req.set_new_password("newpass123");
      req.set_new_password_confirmation("newpass123");
    }
    req.set_terms_accepted(true);
    return Step<v1::CompleteFirstLoginResponse>("CompleteFirstLogin", req);
  }

  FakePlatform platform_;  // outlives the host: the plugin's clients send to it
  FakeHost host_;
  int otp_requests_ = 0;
};

TEST_F(PortalRegistrationTest, TheRegistrationGoesStepByStepOnThePortalsPages) {
  std::string flow_id = Confirmed();
  auto done = FirstLogin(flow_id, true);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->next_step(), v1::REGISTRATION_STEP_DONE);
  EXPECT_EQ(done->office_name(), "さくら居宅介護支援事業所");

  std::vector<std::string> paths;
  for (const auto& r : platform_.Requests()) {
    paths.push_back(r.method + " " + r.path);
    EXPECT_FALSE(r.authenticated) << r.path << ": the portal's pages carry no web-API login";
    if (r.method == "POST") {
      EXPECT_FALSE(r.idempotency_key.empty()) << r.path;
    }
  }
  EXPECT_EQ(paths,
            (std::vector<std::string>{
                "POST /portal/v1/registration/eclaim", "POST /portal/v1/registration/R1/otp",
                "POST /portal/v1/registration/R1/user", "POST /portal/v1/registration/R1/confirm",
                "POST /portal/v1/login", "POST /portal/v1/login/L1/otp",
                "GET /portal/v1/login/L1/terms", "POST /portal/v1/login/L1/password"}));
  EXPECT_EQ(otp_requests_, 1) << "the login's code from the OTP concern (none given)";
  EXPECT_NE(platform_.Requests("POST", "/portal/v1/login/L1/otp")[0].body.find("654321"),
            std::string::npos);
  for (const auto& [key, value] : host_.Store()) {
    EXPECT_EQ(value.find("newpass123"), std::string::npos) << key << ": passwords are sealed";
  }
}

TEST_F(PortalRegistrationTest, AFirstLoginThePortalDidNotFinishResumesWhereTheFlowStands) {
  platform_.On("POST", "/portal/v1/login/L1/password",
               FakePlatform::InTurn({FakePlatform::Json("{}", 503),
                                     FakePlatform::Json(R"({"session":"S1","mypage":{}})")}));
  std::string flow_id = Confirmed();
  EXPECT_EQ(FirstLogin(flow_id, true).status().code(), absl::StatusCode::kUnavailable);

  v1::GetFlowRequest get;
  get.set_flow_id(flow_id);
  auto stored = Step<v1::GetFlowResponse>("GetFlow", get);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->next_step(), v1::REGISTRATION_STEP_FIRST_LOGIN);

  auto done = FirstLogin(flow_id, /*passwords=*/false);  // kept, sealed, from the first call
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->next_step(), v1::REGISTRATION_STEP_DONE);
  EXPECT_EQ(platform_.Count("POST", "/portal/v1/login"), 1) << "logged in once";
  EXPECT_EQ(platform_.Count("POST", "/portal/v1/login/L1/otp"), 1) << "the code taken once";
  EXPECT_EQ(platform_.Count("GET", "/portal/v1/login/L1/terms"), 1);
  EXPECT_EQ(platform_.Count("POST", "/portal/v1/login/L1/password"), 2);
  EXPECT_EQ(otp_requests_, 1);
}

TEST_F(PortalRegistrationTest, AnExpiredLoginCodeLogsInAgainOnTheRetry) {
  platform_.On("POST", "/portal/v1/login/L1/otp",
               FakePlatform::InTurn(
                   {FakePlatform::Json(R"({"error":{"code":"OTP_EXPIRED","message":"late"}})"),
                    FakePlatform::Json("{}")}));
  std::string flow_id = Confirmed();
  EXPECT_EQ(FirstLogin(flow_id, true).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(FirstLogin(flow_id, false).ok()) << "the initial password is used once";
  auto done = FirstLogin(flow_id, true);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(platform_.Count("POST", "/portal/v1/login"), 2);
  EXPECT_EQ(otp_requests_, 2) << "a fresh code for the new login";
}

TEST_F(PortalRegistrationTest, AStartRetriedWithItsRequestIdIsOneRegistration) {
  v1::StartFirstTimeRegistrationRequest start;
  start.set_eclaim_user_id("KJ000000001234");
  start.set_eclaim_password("eclaim-pass");
  start.set_request_id("start-1");
  auto first = Step<v1::StartFirstTimeRegistrationResponse>("StartFirstTimeRegistration", start);
  auto again = Step<v1::StartFirstTimeRegistrationResponse>("StartFirstTimeRegistration", start);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->flow_id(), first->flow_id());
  auto posts = platform_.Requests("POST", "/portal/v1/registration/eclaim");
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].idempotency_key, "start/start-1");
}

TEST_F(PortalRegistrationTest, ThePortalsBusinessErrorsNameTheField) {
  platform_.On("POST", "/portal/v1/registration/eclaim",
               FakePlatform::Json(R"({"error":{"code":"ECLAIM_AUTH_FAILED","message":"no",
                                  "tries_left":2}})"));
  v1::StartFirstTimeRegistrationRequest start;
  start.set_eclaim_user_id("KJ000000001234");
  start.set_eclaim_password("wrong");
  absl::Status s =
      Step<v1::StartFirstTimeRegistrationResponse>("StartFirstTimeRegistration", start).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(s.message().find("tries_left=2"), std::string::npos) << s;
  EXPECT_TRUE(host_.Store().empty()) << "no flow for a refused start";
}

}  // namespace
}  // namespace kaigo::plugins::portal
