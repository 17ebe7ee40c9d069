// An engine with every in-tree concern bound for one office, 1371000017 (the sandbox's さくら
// 居宅介護支援事業所), whose platform plugins reach a sandbox, and one caller — anonymous, on
// loopback — granted every role: for tests that go over the whole API (access_test,
// hostile_requests_test), and a gtest suite that shares one.
#ifndef KAIGO_TESTS_SUPPORT_EVERY_CONCERN_H_
#define KAIGO_TESTS_SUPPORT_EVERY_CONCERN_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {

inline constexpr char kEveryConcernOffice[] = "1371000017";

inline absl::StatusOr<std::unique_ptr<PlatformStack>> StartEveryConcernStack() {
  return PlatformStack::Start(
      {"qualification", "certification", "careplan_exchange", "subsidy_filing",
       "portal_registration", "otp_relay", "card_reader_pcsc"},
      [](const SandboxProcess& sandbox, const TempDir& dir) {
        dir.Write("subsidy-rules.yaml",
                  ReadFile(SourceDir() + "/deploy/subsidy/subsidy-rules.yaml"));
        std::vector<PlatformBinding> bindings = {
            {"kaigo.v1.QualificationService", "qualification", {}},
            {"kaigo.v1.CertificationService", "certification", {}},
            {"kaigo.v1.CarePlanExchangeService", "careplan_exchange", {"service_type: \"43\""}},
            {"kaigo.v1.SubsidyService", "subsidy_filing", {"rules_file: subsidy-rules.yaml"}},
            {"kaigo.v1.PortalRegistrationService",
             "portal_registration",
             {"sealing_key_secret: sealing_key"}},
            {"kaigo.v1.OtpService", "otp_relay", {}, false},
            {"kaigo.v1.CardReaderService", "card_reader_pcsc", {}, false}};
        return PlatformOfficeYaml(
            sandbox, dir, kEveryConcernOffice, "sakura-cm", "Sakura#2026", bindings,
            {{"sealing_key", dir.Write("secrets/sealing_key", std::string(64, 'c') + "\n")}});
      },
      "warn",
      "store:\n  sqlite_path: state.db\n"
      "callers:\n  - {identity: anonymous, offices: [\"*\"], roles: [care_manager, care_staff, "
      "medical, office_admin, engine_admin]}\n");
}

// A suite sharing one such stack.
class EveryConcernTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto stack = StartEveryConcernStack();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }

  inline static PlatformStack* stack_ = nullptr;
};

}  // namespace kaigo::testing

#endif  // KAIGO_TESTS_SUPPORT_EVERY_CONCERN_H_
