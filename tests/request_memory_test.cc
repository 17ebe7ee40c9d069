// Memory bombs through the engine, and what they cost it: a 32 MiB comma bomb and a 32 MiB quote
// bomb through CarePlanExchangeService.Validate, and 20 concurrent 20 MiB attachments through
// SubsidyService.AddAttachment. The engine's peak resident memory (VmHWM in /proc/PID/status,
// reset through /proc/PID/clear_refs before each bomb) must stay under a stated bound, and where
// a limit is hit the answer names it (the care-plan reader's max_* finding, or
// RESOURCE_EXHAUSTED), never INTERNAL.
//
// Measured peaks (RelWithDebInfo, x86-64, Debian 12, gRPC 1.51, four runs; tests/README.md):
//                                   before (a45b84c)   after
//   comma bomb                           862 MiB       109–126 MiB
//   quote bomb                           542 MiB       124–132 MiB
//   20 × 20 MiB attachments at once     1201 MiB       774–896 MiB
// Before, a record of 33 million fields cost 24 bytes each (and the vector doubling), a line of
// stray quotes 12 bytes per quote; a request was held three times over (gRPC's buffer, the SDK's
// copy for the worker, the parsed message). After: the reader stops at its limits, the SDK moves
// the parsed request to its worker and the engine empties gRPC's buffer once the plugin has the
// bytes. What remains for attachments is one parsed copy per call waiting for the subsidy
// plugin (which files one at a time) beside gRPC's buffers of the calls still arriving.
// The bounds: 256 MiB for a bomb (twice the figure), 1152 MiB for the attachments (~1.3×).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <iostream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "kaigo/v1/careplan_exchange.grpc.pb.h"
#include "kaigo/v1/subsidy.grpc.pb.h"
#include "tests/support/into.h"
#include "tests/support/subsidy_drafts.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;

constexpr char kSakura[] = "1371000017";
constexpr size_t kMiB = size_t{1} << 20;
// A bomb fills the engine's default message cap (32 MiB), less room for the file name and
// framing, so that it reaches the plugin rather than being refused by gRPC.
constexpr size_t kBombBytes = 32 * kMiB - 4096;

// The process's peak resident set (VmHWM), in bytes; 0 if unreadable.
size_t PeakRss(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (!absl::StartsWith(line, "VmHWM:")) continue;
    std::istringstream fields(line.substr(6));
    std::string kib;
    fields >> kib;
    size_t value = 0;
    return absl::SimpleAtoi(kib, &value) ? value * 1024 : 0;
  }
  return 0;
}

// The peak starts again from the current resident set (clear_refs 5, Linux 4.0 on).
bool ResetPeakRss(pid_t pid) {
  std::ofstream clear("/proc/" + std::to_string(pid) + "/clear_refs");
  clear << "5";
  return static_cast<bool>(clear.flush());
}

std::shared_ptr<grpc::Channel> LargeMessageChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

class RequestMemoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto stack = PlatformStack::Start(
        {"careplan_exchange", "subsidy_filing"},
        [](const SandboxProcess& sandbox, const TempDir& dir) {
          WriteOpenRoundRules(dir);
          std::vector<PlatformBinding> bindings = {CarePlanBinding("43"), SubsidyBinding()};
          return PlatformOfficeYaml(sandbox, dir, kSakura, "sakura-cm", "Sakura#2026", bindings);
        });
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
    channel_ = new std::shared_ptr<grpc::Channel>(LargeMessageChannel(stack_->engine->target()));
  }
  static void TearDownTestSuite() {
    delete channel_;
    delete stack_;
  }

  // Resets the engine's peak; returns its resident set now.
  static size_t StartMeasuring() {
    EXPECT_TRUE(ResetPeakRss(stack_->engine->pid()));
    return PeakRss(stack_->engine->pid());
  }
  static size_t Peak() { return PeakRss(stack_->engine->pid()); }

  // Validate of one file; the rules of its error findings, or the call's refusal.
  static grpc::Status Validate(const std::string& content, std::vector<std::string>* rules) {
    auto stub = v1::CarePlanExchangeService::NewStub(*channel_);
    v1::ValidateCarePlanRequest req;
    auto* file = req.add_files();
    file->set_name("UPPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV");
    file->set_content(content);
    v1::ValidateCarePlanResponse resp;
    grpc::Status status = stub->ValidateCarePlan(Context(kSakura, absl::Seconds(120)).get(), req, &resp);
    for (const auto& f : resp.findings()) rules->push_back(f.rule());
    return status;
  }

  // Validates `bomb`, which must stop at the reader's limit `rule` (or be refused
  // RESOURCE_EXHAUSTED), with the engine's peak under 256 MiB.
  static void ValidateBomb(const std::string& what, const std::string& bomb,
                           const std::string& rule) {
    size_t before = StartMeasuring();
    std::vector<std::string> rules;
    grpc::Status status = Validate(bomb, &rules);
    size_t peak = Peak();
    std::cout << "MEASURED " << what << ": resident before " << before / kMiB << " MiB, peak "
              << peak / kMiB << " MiB\n";
    if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
      EXPECT_EQ(std::count(rules.begin(), rules.end(), rule), 1);
    }
    EXPECT_LT(peak, 256 * kMiB);
  }

  static PlatformStack* stack_;
  static std::shared_ptr<grpc::Channel>* channel_;
};

PlatformStack* RequestMemoryTest::stack_ = nullptr;
std::shared_ptr<grpc::Channel>* RequestMemoryTest::channel_ = nullptr;

TEST_F(RequestMemoryTest, ACommaBombStopsAtTheFieldLimit) {
  ValidateBomb("comma bomb", std::string(kBombBytes, ','), "max_fields");
}

TEST_F(RequestMemoryTest, AQuoteBombStopsAtTheIssueLimit) {
  ValidateBomb("quote bomb", "a" + std::string(kBombBytes - 1, '"'), "max_issues");
}

TEST_F(RequestMemoryTest, TwentyConcurrentTwentyMiBAttachments) {
  auto stub = v1::SubsidyService::NewStub(*channel_);
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    v1::CreateApplicationRequest create;
    *create.mutable_form() = SubsidyForm("43");
    v1::SubsidyApplication app;
    grpc::Status s = stub->CreateApplication(Context(kSakura).get(), create, Into(&app));
    ASSERT_TRUE(s.ok()) << s.error_message();
    ids.push_back(app.id());
  }
  const std::string content = SampleJpeg(20 * kMiB);
  size_t before = StartMeasuring();
  std::vector<std::future<grpc::Status>> answers;
  for (const std::string& id : ids) {
    answers.push_back(std::async(std::launch::async, [&stub, &content, id] {
      v1::SubsidyApplication app;
      return AttachToDraft(*stub, kSakura, id, v1::ATTACHMENT_KIND_SERVICE_TYPE_DOCUMENT, "big.jpg",
                           content, &app);
    }));
  }
  int attached = 0;
  for (auto& answer : answers) {
    grpc::Status s = answer.get();
    if (s.ok()) {
      ++attached;
    } else {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    }
  }
  size_t peak = Peak();
  std::cout << "MEASURED 20 x 20 MiB attachments: resident before " << before / kMiB
            << " MiB, peak " << peak / kMiB << " MiB, " << attached << " attached\n";
  EXPECT_GT(attached, 0);
  EXPECT_LT(peak, 1152 * kMiB);
}

}  // namespace
}  // namespace kaigo::testing
