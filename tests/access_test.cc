// Who may do what, over every method of the public API and every role: the engine with every
// in-tree concern bound for one office, one caller granted every role, and each call made acting
// in one role (x-kaigo-role). The expected verdict comes from the same policy the engine reads —
// each method's `(kaigo).access` option in the generated descriptors — not from a copy of it.
// Only admission is judged here: an admitted call may still fail inside its plugin (empty
// requests, no card), but never with the admission's refusal.
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <future>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "kaigo/options/v1/options.pb.h"
#include "kaigo/sdk/roles.h"
#include "kaigo/v1/card_reader.pb.h"
#include "kaigo/v1/careplan_exchange.pb.h"
#include "kaigo/v1/certification.pb.h"
#include "kaigo/v1/engine.pb.h"
#include "kaigo/v1/otp.pb.h"
#include "kaigo/v1/portal_registration.pb.h"
#include "kaigo/v1/qualification.pb.h"
#include "kaigo/v1/subsidy.pb.h"
#include "tests/support/every_concern.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;

constexpr const char* kSakura = kEveryConcernOffice;

const char* const kServices[] = {
    "kaigo.v1.QualificationService",      "kaigo.v1.CertificationService",
    "kaigo.v1.CarePlanExchangeService",   "kaigo.v1.SubsidyService",
    "kaigo.v1.PortalRegistrationService", "kaigo.v1.OtpService",
    "kaigo.v1.CardReaderService",         "kaigo.v1.EngineAdminService"};

// What the method's option says of `role`: may it call, as a care system?
bool Allowed(const google::protobuf::MethodDescriptor* method, const std::string& role) {
  const auto& access = method->options().GetExtension(kaigo::options::v1::kaigo).access();
  if (access.plugins_only()) return false;
  for (int r : access.roles()) {
    if (sdk::RoleName(static_cast<kaigo::options::v1::Role>(r)) == role) return true;
  }
  return false;
}

bool AdmissionRefused(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::PERMISSION_DENIED) return false;
  const std::string& m = status.error_message();
  return absl::StrContains(m, " may not call ") || absl::StrContains(m, "called only by other") ||
         absl::StrContains(m, "lacks the engine_admin role");
}

class AccessTest : public EveryConcernTest {
 protected:
  // One call with an empty request acting in `role`; the status it ends with (a short deadline:
  // admitted watches never end by themselves).
  static grpc::Status Call(const std::string& path, const std::string& role) {
    grpc::GenericStub stub(InsecureChannel(stack_->engine->target()));
    auto context = Context(kSakura, absl::Milliseconds(1500));
    context->AddMetadata("x-kaigo-role", role);
    grpc::ByteBuffer request, response;
    grpc::Slice empty("");
    request = grpc::ByteBuffer(&empty, 1);
    std::promise<grpc::Status> done;
    stub.UnaryCall(context.get(), path, grpc::StubOptions(), &request, &response,
                   [&](grpc::Status s) { done.set_value(s); });
    return done.get_future().get();
  }
};

TEST_F(AccessTest, EveryMethodAdmitsExactlyTheRolesItsPolicyNames) {
  int checked = 0;
  for (const char* name : kServices) {
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* method = service->method(i);
      ASSERT_TRUE(method->options().HasExtension(kaigo::options::v1::kaigo))
          << method->full_name() << " declares no access policy";
      std::string path = "/" + service->full_name() + "/" + method->name();
      for (const std::string& role : sdk::AllRoles()) {
        grpc::Status status = Call(path, role);
        if (Allowed(method, role)) {
          EXPECT_FALSE(AdmissionRefused(status))
              << path << " as " << role << ": " << status.error_message();
        } else {
          EXPECT_TRUE(AdmissionRefused(status))
              << path << " as " << role << ": " << status.error_code() << " "
              << status.error_message();
        }
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 47 * 5);
}

TEST_F(AccessTest, RefusalsSayWhatTheMethodNeeds) {
  grpc::Status staff = Call("/kaigo.v1.CertificationService/GetProgress", "care_staff");
  EXPECT_EQ(staff.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(staff.error_message(),
            "acting as care_staff the caller may not call "
            "/kaigo.v1.CertificationService/GetProgress; it needs one of: care_manager");
  grpc::Status subsidy = Call("/kaigo.v1.SubsidyService/SubmitApplication", "care_manager");
  EXPECT_EQ(subsidy.error_message(),
            "acting as care_manager the caller may not call "
            "/kaigo.v1.SubsidyService/SubmitApplication; it "
            "needs one of: office_admin");
  grpc::Status otp = Call("/kaigo.v1.OtpService/RequestOtp", "office_admin");
  EXPECT_EQ(otp.error_message(),
            "/kaigo.v1.OtpService/RequestOtp is called only by other concerns of the office, not "
            "by care systems");
}

TEST_F(AccessTest, TheAccessCommandPrintsThePolicyInForce) {
  CommandResult table = RunCommand(EngineBinary() + " access --config " + stack_->config);
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("/kaigo.v1.CertificationService/GetProgress"), std::string::npos);
  EXPECT_NE(table.output.find("care_manager  (proto)"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("/kaigo.v1.OtpService/RequestOtp"), std::string::npos);
  EXPECT_NE(table.output.find("other concerns only  (proto)"), std::string::npos);
}

}  // namespace
}  // namespace kaigo::testing
