#include "portal_registration.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "in_tree_manifest.h"
#include "kaigo/identifiers.h"
#include "kaigo/plugins/v1/portal_registration_config.pb.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/pagination.h"
#include "kaigo/sdk/response.h"
#include "kaigo/v1/otp.pb.h"
#include "kaigo/v1/portal_registration.pb.h"
#include "nlohmann/json.hpp"
#include "platform_connection.h"
#include "platform_encoding.h"
#include "platform_json.h"
#include "random_id.h"
#include "sealing.h"
#include "stored_flow.pb.h"
#include "user_details.h"

namespace kaigo::plugins::portal {

namespace {

namespace v1 = kaigo::v1;
using google::protobuf::util::TimeUtil;
using kaigo::plugins::portal_registration::StoredFlow;
using kaigo::plugins::v1::PortalRegistrationConfig;
using nlohmann::json;
using platform::JsonString;

constexpr char kService[] = "/kaigo.v1.PortalRegistrationService/";
constexpr char kRequestOtp[] = "/kaigo.v1.OtpService/RequestOtp";
constexpr char kSessionKey[] = "session";

json DetailsJson(const v1::UserDetails& d) {
  return {{"email", d.email()},           {"name", d.name()},   {"kana", d.name_kana()},
          {"department", d.department()}, {"title", d.title()}, {"phone", d.phone()}};
}

// The portal's answer: the object, or its business error as a status naming the field.
struct PortalAnswer {
  json body;
  std::string error_code;  // empty: no business error
  json error;
};

// The status of the portal's business error; its code and members go into the details in
// FromBusiness.
absl::Status BusinessStatus(const PortalAnswer& a) {
  const std::string& code = a.error_code;
  std::string message = JsonString(a.error, "message");
  std::string portal = " (portal: " + message + ")";
  if (code == "ALREADY_REGISTERED") return absl::AlreadyExistsError(message);
  if (code == "ECLAIM_AUTH_FAILED") {
    const int64_t tries_left = platform::JsonInt(a.error, "tries_left");
    return sdk::WithStaffMessage(
        absl::UnauthenticatedError(absl::StrCat(
            "eclaim_password: the e-claim user ID or password is wrong (tries_left=", tries_left,
            ")", portal)),
        absl::StrCat("電子請求受付システムのユーザIDまたはパスワードが違います（残り", tries_left,
                     "回）"));
  }
  if (code == "ECLAIM_LOCKED") {
    return sdk::WithStaffMessage(
        absl::PermissionDeniedError(
            "eclaim_user_id: the e-claim account is locked for 30 minutes after 3 failures" +
            portal),
        "電子請求受付システムのアカウントは3回続けて失敗したため30分間ロックされています");
  }
  if (code == "TEMPORARY_PASSWORD") {
    return absl::FailedPreconditionError(
        "eclaim_password: this is the temporary password from the federation's notice; change it "
        "in the e-claim system first" +
        portal);
  }
  if (code == "SECURITY_CODE_REQUIRED" || code == "SECURITY_CODE_INVALID") {
    return absl::UnauthenticatedError(
        absl::StrCat("security_code: ",
                     code == "SECURITY_CODE_REQUIRED" ? "this office set a security code; give it"
                                                      : "wrong security code",
                     " (tries_left=", platform::JsonInt(a.error, "tries_left"), ")", portal));
  }
  if (code == "OTP_INVALID") {
    return sdk::InvalidField("code", code, "the portal refused the one-time password" + portal);
  }
  if (code == "OTP_EXPIRED" || code == "OTP_USED") {
    return absl::FailedPreconditionError(
        "code: the one-time password expired or was used; ask for a new one" + portal);
  }
  if (code == "INVALID_FIELD" || code == "EMAIL_IN_USE") {
    return sdk::InvalidField("details." + JsonString(a.error, "field"), code,
                             "the portal refused it" + portal);
  }
  if (code == "LOGIN_FAILED") {
    return absl::UnauthenticatedError("initial_password: the portal refused the login" + portal);
  }
  if (code == "PASSWORD_MISMATCH" || code == "PASSWORD_POLICY") {
    return sdk::InvalidField("new_password", code, "the portal refused it" + portal);
  }
  if (code == "TERMS_NOT_ACCEPTED" || code == "TERMS_NOT_SHOWN") {
    return sdk::InvalidField("terms_accepted", code, "the portal refused it" + portal);
  }
  if (code == "USER_LIMIT") {
    return absl::ResourceExhaustedError("details: at most 5 users can be added" + portal);
  }
  if (code == "NOT_FOUND") return absl::NotFoundError("flow_id: the portal lost the step" + portal);
  return absl::FailedPreconditionError(code + portal);
}

absl::Status FromBusiness(const PortalAnswer& a) {
  return platform::WithPlatformError(BusinessStatus(a), a.error, "portal");
}

bool StrongEnough(const std::string& p) {
  bool letter = false, digit = false;
  for (char c : p) {
    letter |= (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    digit |= c >= '0' && c <= '9';
  }
  return p.size() >= 8 && p.size() <= 64 && letter && digit;
}

class PortalRegistration : public sdk::Instance {
 public:
  PortalRegistration(sdk::HostServices host, PortalRegistrationConfig config, Sealer sealer,
                     platform::PlatformAccounts accounts)
      : Instance(std::move(host)),
        config_(std::move(config)),
        sealer_(std::move(sealer)),
        accounts_(std::move(accounts)) {
    // Start keeps its request_id itself (the flow's id and the portal's Idempotency-Key derive
    // from it), which holds across a crash mid-way too; the SDK's record of it would make a retry
    // after such a crash wait until the first attempt counts as abandoned.
    BlockingUnary<v1::StartFirstTimeRegistrationRequest, v1::StartFirstTimeRegistrationResponse>(
        std::string(kService) + "StartFirstTimeRegistration",
        [this](const v1::StartFirstTimeRegistrationRequest& req, const sdk::CallBase& call) {
          return sdk::AnswerIn(Start(req, call),
                               &v1::StartFirstTimeRegistrationResponse::mutable_flow);
        });
    BlockingAnswer(std::string(kService) + "SubmitOneTimePassword", &PortalRegistration::SubmitOtp,
                   &v1::SubmitOneTimePasswordResponse::mutable_flow);
    BlockingAnswer(std::string(kService) + "SubmitUserDetails", &PortalRegistration::SubmitDetails,
                   &v1::SubmitUserDetailsResponse::mutable_flow);
    BlockingAnswer(std::string(kService) + "Confirm", &PortalRegistration::Confirm,
                   &v1::ConfirmResponse::mutable_flow);
    BlockingAnswer(std::string(kService) + "CompleteFirstLogin", &PortalRegistration::FirstLogin,
                   &v1::CompleteFirstLoginResponse::mutable_flow);
    BlockingAnswer(std::string(kService) + "GetFlow", &PortalRegistration::Get,
                   &v1::GetFlowResponse::mutable_flow);
    BlockingAnswer(std::string(kService) + "AddUser", &PortalRegistration::AddUser,
                   &v1::AddUserResponse::mutable_user);
    BlockingUnary<v1::ListUsersRequest, v1::ListUsersResponse>(
        std::string(kService) + "ListUsers",
        [this](const v1::ListUsersRequest& req, const sdk::CallBase& call) {
          return ListUsers(req, call);
        });
  }

 private:
  // ---- the portal ----

  // The portal's registration and login pages come before any web-service user and carry no
  // login of one (only the office's certificate, and the portal session in `header`), so no
  // role's user changes what they answer: the default account's client serves them all.
  absl::StatusOr<PortalAnswer> PortalGet(const sdk::CallBase& call, const std::string& path,
                                         const std::string& header = "") {
    return Answer(platform::CallClient(*accounts_.Default().client, call)
                      .UnauthenticatedGet("/portal/v1/" + path, header));
  }

  // A portal step, performed once per `key` (see FlowKey).
  absl::StatusOr<PortalAnswer> PortalPost(const sdk::CallBase& call, const std::string& path,
                                          const json& body, const platform::IdempotencyKey& key,
                                          const std::string& header = "") {
    return Answer(platform::CallClient(*accounts_.Default().client, call)
                      .UnauthenticatedPost("/portal/v1/" + path, body.dump(), key, header));
  }

  // The Idempotency-Key of a step of a stored flow (the contract of the portal steps' keys):
  // derived from (the flow's id, the version of the flow the step starts from, the path — which
  // names the portal's registration or login —, the body). Each step is saved by compare-and-set
  // from that version once the portal has answered, so:
  //   - the engine dying between the portal's answer and the save leaves the version as it was:
  //     the caller's retry sends the same step under the same key and gets the portal's first
  //     answer (an OTP is not "used" by its own retry; details are not sent twice) — this holds
  //     for the registration's otp, user and confirm steps;
  //   - a step done again after a saved outcome (a login again after OTP_EXPIRED, another code)
  //     starts from a newer version or another body: a new key, a new request;
  //   - CompleteFirstLogin saves the flow (the new password, sealed afresh) before its steps, so
  //     each of its calls starts from a new version and its login, login otp and password steps
  //     get new keys: after a crash they are sent again as new requests, and the portal's
  //     WRONG_STEP for a step already done carries the flow on, as before; a login sent again
  //     mails a new OTP (the login's code is looked for after the new login's time, so a replayed
  //     login would wait for a mail that never comes).
  // The first step (registration/eclaim) has no flow yet and the request names nothing that
  // tells a retry from a new registration: its key is Fresh (retries within the call only); a
  // Start retried after a crash begins a second registration on the portal (only one can be
  // confirmed). AddUser's key is derived from the user's details: the same user again is a retry.
  static platform::IdempotencyKey FlowKey(const StoredFlow& flow, int64_t version,
                                          const std::string& path, const json& body) {
    return platform::IdempotencyKey::Derived(
        "", "portal/" + path, {flow.flow_id(), std::to_string(version), body.dump()});
  }

  static absl::StatusOr<PortalAnswer> Answer(absl::StatusOr<platform::Response> response) {
    if (!response.ok()) return response.status();
    PortalAnswer a;
    a.body = json::parse(response->body, nullptr, false);
    if (a.body.is_discarded() || !a.body.is_object()) {
      return absl::UnavailableError("the portal's answer is not understood");
    }
    if (auto e = a.body.find("error"); e != a.body.end() && e->is_object()) {
      a.error_code = JsonString(*e, "code");
      a.error = *e;
    }
    return a;
  }

  // ---- the store ----

  // A flow is read with its version, and each save of it is a compare-and-set from the version
  // the call last read or wrote: when another call (on this engine or another) moved the flow
  // meanwhile, this one saves nothing and is ABORTED; its retry finds the step done.
  absl::StatusOr<StoredFlow> Load(const std::string& id, int64_t* version = nullptr) {
    if (id.empty()) return sdk::InvalidField("flow_id", "REQUIRED", "must be set");
    auto stored = host().StoreGetVersioned("flow/" + id);
    if (!stored.ok()) {
      return absl::IsNotFound(stored.status())
                 ? absl::NotFoundError("flow_id: no registration flow '" + id + "'")
                 : stored.status();
    }
    StoredFlow flow;
    if (!flow.ParseFromString(stored->value)) {
      return absl::DataLossError("flow " + id + " unreadable");
    }
    if (version != nullptr) *version = stored->version;
    return flow;
  }

  absl::Status Save(const StoredFlow& flow, int64_t* version) {
    auto written = host().StorePutIf("flow/" + flow.flow_id(), flow.SerializeAsString(), *version);
    if (absl::IsAborted(written.status())) {
      return absl::AbortedError("flow_id: another call moved registration flow " + flow.flow_id() +
                                " on meanwhile; read it again (GetFlow)");
    }
    if (!written.ok()) return written.status();
    *version = *written;
    return absl::OkStatus();
  }

  static v1::UserDetails DetailsOf(const StoredFlow& f) {
    v1::UserDetails details;
    details.ParseFromString(f.details());  // written by this plugin; empty before the step
    return details;
  }

  static v1::RegistrationFlow View(const StoredFlow& f) {
    v1::RegistrationFlow out;
    out.set_flow_id(f.flow_id());
    out.set_next_step(static_cast<v1::RegistrationStep>(f.step()));
    static const std::map<v1::RegistrationStep, const char*> kNeeds = {
        {v1::REGISTRATION_STEP_ONE_TIME_PASSWORD,
         "the one-time password mailed to the e-claim address (asked of the OTP concern if not "
         "given)"},
        {v1::REGISTRATION_STEP_USER_DETAILS,
         "the first user: e-mail, 氏名, フリガナ, phone; 部署名 and 役職名 optional"},
        {v1::REGISTRATION_STEP_CONFIRM, "confirmation of the details"},
        {v1::REGISTRATION_STEP_FIRST_LOGIN,
         "the initial password from the portal's mail, a new password twice, and acceptance of "
         "the terms of use"},
        {v1::REGISTRATION_STEP_DONE, "nothing: My page is open; add users with AddUser"}};
    auto needs = kNeeds.find(static_cast<v1::RegistrationStep>(f.step()));
    if (needs != kNeeds.end()) out.set_needs(needs->second);
    *out.mutable_details() = DetailsOf(f);
    out.set_user_name(f.user_name());
    out.set_office_name(f.office_name());
    return out;
  }

  // ---- one-time passwords ----

  // The code for this step: given by the caller, kept from before a crash, or asked of the OTP
  // concern (and kept, sealed, until the portal takes it).
  absl::StatusOr<std::string> Code(StoredFlow* flow, int64_t* version, const std::string& given,
                                   v1::OtpPurpose purpose, const sdk::CallBase& call) {
    if (!given.empty()) return given;
    if (!flow->sealed_otp().empty()) return sealer_.Open(flow->sealed_otp());
    v1::RequestOtpRequest req;
    req.set_purpose(purpose);
    req.set_recipient_hint(purpose == v1::OTP_PURPOSE_ECLAIM_REGISTRATION
                               ? "電子請求受付システムに登録のメールアドレス"
                               : DetailsOf(*flow).email());
    if (flow->otp_sent_after() > 0) {
      *req.mutable_sent_after_time() = TimeUtil::SecondsToTimestamp(flow->otp_sent_after());
    }
    *req.mutable_timeout() = TimeUtil::SecondsToDuration(
        config_.otp_timeout_seconds() > 0 ? config_.otp_timeout_seconds() : 600);
    // Waited on only while this call lasts: its caller leaving or its deadline ends the wait.
    auto otp = host().CallUnaryAndWait<v1::RequestOtpResponse>(call, kRequestOtp, req);
    if (!otp.ok()) return otp.status();
    flow->set_sealed_otp(sealer_.Seal(otp->code()));
    if (auto s = Save(*flow, version); !s.ok()) return s;
    return otp->code();
  }

  // ---- steps ----

  absl::StatusOr<v1::RegistrationFlow> Start(const v1::StartFirstTimeRegistrationRequest& req,
                                             const sdk::CallBase& call) {
    if (auto s = ValidateEclaimUserId(req.eclaim_user_id()); !s.ok()) {
      return sdk::ForField(s, "eclaim_user_id", "ECLAIM_USER_ID");
    }
    if (req.eclaim_password().empty()) {
      return sdk::InvalidField("eclaim_password", "REQUIRED", "must be set");
    }
    // With the caller's request id, the flow's id comes from it: a retry finds the flow the first
    // call saved, or (when that call died between the portal's answer and the save) asks the
    // portal again under the same key and gets the same registration back.
    std::string flow_id = RandomHex(12);
    platform::IdempotencyKey key = platform::IdempotencyKey::Fresh();
    if (!req.request_id().empty()) {
      if (req.request_id().size() > 128) {
        return sdk::InvalidField("request_id", "LENGTH", "at most 128 characters");
      }
      flow_id = platform::Sha256Hex("start/" + req.request_id()).substr(0, 24);
      if (auto earlier = Load(flow_id); earlier.ok()) return View(*earlier);
      key = platform::IdempotencyKey::FromClientReference("start/" + req.request_id());
    }
    int64_t asked_at = absl::ToUnixSeconds(host().Now());
    auto a = PortalPost(call, "registration/eclaim",
                        {{"kj_id", req.eclaim_user_id()},
                         {"password", req.eclaim_password()},
                         {"security_code", req.security_code()}},
                        std::move(key));
    if (!a.ok()) return a.status();
    if (!a->error_code.empty()) return FromBusiness(*a);
    StoredFlow flow;
    flow.set_flow_id(flow_id);
    flow.set_step(v1::REGISTRATION_STEP_ONE_TIME_PASSWORD);
    flow.set_registration_id(JsonString(a->body, "registration_id"));
    flow.set_otp_sent_after(asked_at);
    int64_t version = 0;  // a new key
    absl::Status saved = Save(flow, &version);
    if (absl::IsAborted(saved) && !req.request_id().empty()) {
      // A retry racing this call saved the same flow first.
      if (auto earlier = Load(flow_id); earlier.ok()) return View(*earlier);
    }
    if (!saved.ok()) return saved;
    return View(flow);
  }

  absl::StatusOr<v1::RegistrationFlow> SubmitOtp(const v1::SubmitOneTimePasswordRequest& req,
                                                 const sdk::CallBase& call) {
    int64_t version = 0;
    auto flow = Load(req.flow_id(), &version);
    if (!flow.ok()) return flow.status();
    if (flow->step() != v1::REGISTRATION_STEP_ONE_TIME_PASSWORD) return View(*flow);
    if (!req.code().empty() && (req.code().size() < 4 || req.code().size() > 8 ||
                                req.code().find_first_not_of("0123456789") != std::string::npos)) {
      return sdk::InvalidField("code", "OTP_FORMAT", "4 to 8 half-width digits",
                               "ワンタイムパスワードは4〜8桁の半角数字です");
    }
    auto code = Code(&*flow, &version, req.code(), v1::OTP_PURPOSE_ECLAIM_REGISTRATION, call);
    if (!code.ok()) return code.status();
    const std::string path = "registration/" + flow->registration_id() + "/otp";
    const json body = {{"code", *code}};
    auto a = PortalPost(call, path, body, FlowKey(*flow, version, path, body));
    if (!a.ok()) return a.status();
    flow->clear_sealed_otp();  // used, accepted or refused: never sent again
    if (!a->error_code.empty() && a->error_code != "WRONG_STEP") {
      if (auto s = Save(*flow, &version); !s.ok()) return s;
      return FromBusiness(*a);
    }
    flow->set_step(v1::REGISTRATION_STEP_USER_DETAILS);
    if (auto s = Save(*flow, &version); !s.ok()) return s;
    return View(*flow);
  }

  absl::StatusOr<v1::RegistrationFlow> SubmitDetails(const v1::SubmitUserDetailsRequest& req,
                                                     const sdk::CallBase& call) {
    if (auto s = CheckUserDetails(req.details(), "details"); !s.ok()) return s;
    int64_t version = 0;
    auto flow = Load(req.flow_id(), &version);
    if (!flow.ok()) return flow.status();
    if (flow->step() != v1::REGISTRATION_STEP_USER_DETAILS &&
        flow->step() != v1::REGISTRATION_STEP_CONFIRM) {
      if (flow->step() > v1::REGISTRATION_STEP_CONFIRM) return View(*flow);
      return absl::FailedPreconditionError("flow_id: the one-time password comes first");
    }
    const std::string path = "registration/" + flow->registration_id() + "/user";
    const json body = DetailsJson(req.details());
    auto a = PortalPost(call, path, body, FlowKey(*flow, version, path, body));
    if (!a.ok()) return a.status();
    if (!a->error_code.empty()) return FromBusiness(*a);
    flow->set_details(req.details().SerializeAsString());
    flow->set_step(v1::REGISTRATION_STEP_CONFIRM);
    if (auto s = Save(*flow, &version); !s.ok()) return s;
    return View(*flow);
  }

  absl::StatusOr<v1::RegistrationFlow> Confirm(const v1::ConfirmRequest& req,
                                               const sdk::CallBase& call) {
    int64_t version = 0;
    auto flow = Load(req.flow_id(), &version);
    if (!flow.ok()) return flow.status();
    if (flow->step() > v1::REGISTRATION_STEP_CONFIRM) return View(*flow);
    if (flow->step() != v1::REGISTRATION_STEP_CONFIRM) {
      return absl::FailedPreconditionError("flow_id: the user's details come first");
    }
    const std::string path = "registration/" + flow->registration_id() + "/confirm";
    auto a = PortalPost(call, path, json::object(), FlowKey(*flow, version, path, json::object()));
    if (!a.ok()) return a.status();
    if (!a->error_code.empty() && a->error_code != "WRONG_STEP") return FromBusiness(*a);
    flow->set_step(v1::REGISTRATION_STEP_FIRST_LOGIN);
    if (auto s = Save(*flow, &version); !s.ok()) return s;
    return View(*flow);
  }

  absl::StatusOr<v1::RegistrationFlow> FirstLogin(const v1::CompleteFirstLoginRequest& req,
                                                  const sdk::CallBase& call) {
    int64_t version = 0;
    auto flow = Load(req.flow_id(), &version);
    if (!flow.ok()) return flow.status();
    if (flow->step() == v1::REGISTRATION_STEP_DONE) return View(*flow);
    if (flow->step() != v1::REGISTRATION_STEP_FIRST_LOGIN) {
      return absl::FailedPreconditionError("flow_id: registration is not confirmed yet");
    }
    if (!req.new_password().empty() || !req.new_password_confirmation().empty()) {
      if (req.new_password() != req.new_password_confirmation()) {
        return sdk::InvalidField("new_password_confirmation", "PASSWORD_MISMATCH",
                                 "does not match new_password",
                                 "確認用のパスワードが新しいパスワードと一致しません");
      }
      if (!StrongEnough(req.new_password())) {
        return sdk::InvalidField(
            "new_password", "PASSWORD_POLICY",
            "8 to 64 characters with at least one letter and one digit",
            "パスワードは英字と数字をそれぞれ1文字以上含む8〜64文字にしてください");
      }
      flow->set_sealed_new_password(sealer_.Seal(req.new_password()));
    }
    if (!req.initial_password().empty()) {
      flow->set_sealed_initial_password(sealer_.Seal(req.initial_password()));
    }
    if (!req.terms_accepted()) {
      return sdk::InvalidField("terms_accepted", "TERMS_NOT_ACCEPTED",
                               "the terms of use must be accepted", "利用規約への同意が必要です");
    }
    if (flow->sealed_new_password().empty()) {
      return sdk::InvalidField("new_password", "REQUIRED", "must be set");
    }
    if (auto s = Save(*flow, &version); !s.ok()) return s;

    if (flow->login_stage().empty()) {
      if (flow->sealed_initial_password().empty()) {
        return sdk::InvalidField("initial_password", "REQUIRED", "the one from the portal's mail");
      }
      auto initial = sealer_.Open(flow->sealed_initial_password());
      if (!initial.ok()) return initial.status();
      int64_t asked_at = absl::ToUnixSeconds(host().Now());
      const json body = {{"email", DetailsOf(*flow).email()}, {"password", *initial}};
      auto a = PortalPost(call, "login", body, FlowKey(*flow, version, "login", body));
      if (!a.ok()) return a.status();
      if (!a->error_code.empty()) return FromBusiness(*a);
      flow->set_login_id(JsonString(a->body, "login_id"));
      flow->set_login_stage("otp");
      flow->set_otp_sent_after(asked_at);
      flow->clear_sealed_initial_password();
      if (auto s = Save(*flow, &version); !s.ok()) return s;
    }
    if (flow->login_stage() == "otp") {
      auto code = Code(&*flow, &version, req.otp_code(), v1::OTP_PURPOSE_PORTAL_LOGIN, call);
      if (!code.ok()) return code.status();
      const std::string path = "login/" + flow->login_id() + "/otp";
      const json body = {{"code", *code}};
      auto a = PortalPost(call, path, body, FlowKey(*flow, version, path, body));
      if (!a.ok()) return a.status();
      flow->clear_sealed_otp();
      if (!a->error_code.empty() && a->error_code != "WRONG_STEP") {
        if (a->error_code == "OTP_EXPIRED" || a->error_code == "OTP_USED") {
          flow->set_login_stage("");  // the next call logs in again for a fresh code
        }
        if (auto s = Save(*flow, &version); !s.ok()) return s;
        return FromBusiness(*a);
      }
      flow->set_login_stage("set_password");
      if (auto s = Save(*flow, &version); !s.ok()) return s;
    }
    if (!flow->terms_fetched()) {
      auto terms = PortalGet(call, "login/" + flow->login_id() + "/terms");
      if (!terms.ok()) return terms.status();
      if (!terms->error_code.empty()) return FromBusiness(*terms);
      flow->set_terms_fetched(true);
      if (auto s = Save(*flow, &version); !s.ok()) return s;
    }
    auto password = sealer_.Open(flow->sealed_new_password());
    if (!password.ok()) return password.status();
    const std::string path = "login/" + flow->login_id() + "/password";
    const json body = {{"new_password", *password},
                       {"new_password_confirmation", *password},
                       {"accept_terms", true}};
    auto a = PortalPost(call, path, body, FlowKey(*flow, version, path, body));
    if (!a.ok()) return a.status();
    if (!a->error_code.empty() && a->error_code != "WRONG_STEP") return FromBusiness(*a);
    if (a->error_code.empty()) {
      json mypage = a->body.contains("mypage") ? a->body["mypage"] : json::object();
      flow->set_user_name(JsonString(mypage, "user_name"));
      flow->set_office_name(JsonString(mypage, "office_name"));
      std::string session = JsonString(a->body, "session");
      if (auto s = host().StorePut(kSessionKey, sealer_.Seal(session)); !s.ok()) return s;
    }
    flow->clear_sealed_new_password();
    flow->clear_sealed_initial_password();
    flow->clear_sealed_otp();
    flow->set_step(v1::REGISTRATION_STEP_DONE);
    if (auto s = Save(*flow, &version); !s.ok()) return s;
    return View(*flow);
  }

  absl::StatusOr<v1::RegistrationFlow> Get(const v1::GetFlowRequest& req, const sdk::CallBase&) {
    auto flow = Load(req.flow_id());
    if (!flow.ok()) return flow.status();
    return View(*flow);
  }

  absl::StatusOr<std::string> Session() {
    auto sealed = host().StoreGet(kSessionKey);
    if (!sealed.ok()) {
      return absl::FailedPreconditionError(
          "no portal session: finish the first-time registration and first login first");
    }
    auto session = sealer_.Open(*sealed);
    if (!session.ok()) return session.status();
    return "X-Portal-Session: " + *session;
  }

  absl::StatusOr<v1::PortalUser> AddUser(const v1::AddUserRequest& req, const sdk::CallBase& call) {
    if (auto s = CheckUserDetails(req.details(), "details"); !s.ok()) return s;
    auto header = Session();
    if (!header.ok()) return header.status();
    const json body = DetailsJson(req.details());
    auto a =
        PortalPost(call, "users", body,
                   platform::IdempotencyKey::Derived("", "portal/users", {body.dump()}), *header);
    if (!a.ok()) return a.status();
    if (!a->error_code.empty()) return FromBusiness(*a);
    v1::PortalUser user;
    user.set_user_id(JsonString(a->body, "user_id"));
    user.set_name(req.details().name());
    user.set_initial_password_pending(true);
    return user;
  }

  absl::StatusOr<v1::ListUsersResponse> ListUsers(const v1::ListUsersRequest& req,
                                                  const sdk::CallBase& call) {
    auto header = Session();
    if (!header.ok()) return header.status();
    auto a = PortalGet(call, "users", *header);
    if (!a.ok()) return a.status();
    if (!a->error_code.empty()) return FromBusiness(*a);
    v1::ListUsersResponse out;
    out.set_added_limit(5);
    if (auto users = a->body.find("users"); users != a->body.end() && users->is_array()) {
      for (const json& u : *users) {
        auto* user = out.add_users();
        user->set_user_id(JsonString(u, "user_id"));
        user->set_name(JsonString(u, "name"));
        user->set_first_user(platform::JsonBool(u, "first"));
        user->set_initial_password_pending(platform::JsonBool(u, "initial_password_pending"));
        if (!user->first_user()) out.set_added(out.added() + 1);
      }
    }
    // The portal lists an office's users (at most six) in one answer; pages are cut here.
    auto window = sdk::PageOf(req, out.users_size());
    if (!window.ok()) return window.status();
    auto* users = out.mutable_users();
    users->DeleteSubrange(static_cast<int>(window->end),
                          users->size() - static_cast<int>(window->end));
    users->DeleteSubrange(0, static_cast<int>(window->begin));
    out.set_next_page_token(window->next_page_token);
    return out;
  }

  const PortalRegistrationConfig config_;
  const Sealer sealer_;
  const platform::PlatformAccounts accounts_;
};

}  // namespace

sdk::PluginDefinition Define() { return DefineWith(nullptr); }

sdk::PluginDefinition DefineWith(platform::ClientFactory make_client) {
  sdk::PluginManifest m = InTreeManifest("portal_registration");
  m.security_posture =
      "Talks to the portal over TLS 1.3 with the office's certificate; keeps passwords and the "
      "portal session sealed (AES-256-GCM, key from the office's secrets) and only while needed; "
      "never logs credentials or one-time passwords.";
  m.services = {"kaigo.v1.PortalRegistrationService"};
  m.calls = {"/kaigo.v1.OtpService/RequestOtp"};
  auto create =
      [make_client](
          sdk::HostServices host, const sdk::InstanceContext&,
          PortalRegistrationConfig config) -> absl::StatusOr<std::unique_ptr<sdk::Instance>> {
    if (config.sealing_key_secret().empty()) {
      return absl::InvalidArgumentError("sealing_key_secret: required (32 random bytes, hex)");
    }
    auto key = host.Secret(config.sealing_key_secret());
    if (!key.ok()) {
      return absl::FailedPreconditionError("sealing_key_secret: the office binds no secret '" +
                                           config.sealing_key_secret() + "'");
    }
    auto sealer = Sealer::FromSecret(*key);
    if (!sealer.ok()) return sealer.status();
    // The same settings as the other platform plugins, checked alike (accounts included).
    auto accounts = platform::PlatformAccounts::Connect(config.platform(), host,
                                                        /*needs_web_user=*/false, make_client);
    if (!accounts.ok()) return accounts.status();
    return std::make_unique<PortalRegistration>(std::move(host), std::move(config),
                                                *std::move(sealer), *std::move(accounts));
  };
  return sdk::DefinePlugin<PortalRegistrationConfig>(std::move(m), std::move(create));
}

}  // namespace kaigo::plugins::portal
