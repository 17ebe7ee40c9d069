// PlatformAccounts on the SDK's fake host: the settings' accounts checked (each role once, an
// office role, both secret names, secrets the office binds), and the account a call acting in
// its roles gets. No platform is reached: clients log in on first use only.
#include "platform_connection.h"

#include <gtest/gtest.h>

#include <mutex>

#include "kaigo/plugins/v1/platform_config.pb.h"
#include "kaigo/sdk/fake_host.h"
#include "kaigo/sdk/plugin_definition.h"
#include "kaigo/v1/qualification.pb.h"
#include "unreachable_platform.h"

namespace kaigo::platform {
namespace {

using kaigo::plugins::v1::QualificationConfig;
using sdk::testing::FakeHost;

constexpr char kLookup[] = "/kaigo.v1.QualificationService/LookupByInsuredNumber";

std::mutex picked_mu;
std::string picked;  // the role of the account the probe's last call got ("" for the default)
std::vector<std::string> bound;

// A plugin that connects its accounts from QualificationConfig.platform and answers each lookup
// with nothing, noting which account the call got.
class Probe : public sdk::Instance {
 public:
  Probe(sdk::HostServices host, PlatformAccounts accounts)
      : Instance(std::move(host)), accounts_(std::move(accounts)) {
    {
      std::lock_guard<std::mutex> lock(picked_mu);
      bound = accounts_.BoundRoles();
    }
    Unary<kaigo::v1::LookupByInsuredNumberRequest, kaigo::v1::LookupByInsuredNumberResponse>(
        kLookup, [this](const auto&, auto call) {
          {
            std::lock_guard<std::mutex> lock(picked_mu);
            picked = accounts_.For(call->info()).role;
          }
          call->Finish(kaigo::v1::LookupByInsuredNumberResponse());
        });
  }

 private:
  PlatformAccounts accounts_;
};

sdk::PluginDefinition Define() {
  sdk::PluginDefinition d;
  d.name = "accounts_probe";
  d.version = "0.0.1";
  d.services = {sdk::FindService("kaigo.v1.QualificationService")};
  d.config_type = QualificationConfig::descriptor();
  d.create = [](sdk::HostServices host, const sdk::InstanceContext&,
                std::string_view settings) -> absl::StatusOr<std::unique_ptr<sdk::Instance>> {
    auto config = sdk::ParseConfig<QualificationConfig>(settings);
    if (!config.ok()) return config.status();
    auto accounts = PlatformAccounts::Connect(config->platform(), host);
    if (!accounts.ok()) return accounts.status();
    return std::make_unique<Probe>(std::move(host), *std::move(accounts));
  };
  return d;
}

const kaigo_plugin_api* Api() {
  static const kaigo_plugin_api* const api = sdk::ExportPlugin(Define());
  return api;
}

class PlatformAccountsTest : public ::testing::Test {
 protected:
  PlatformAccountsTest() {
    testing::UseUnreachablePlatform(&host_, config_.mutable_platform());
    for (const char* name : {"cm_user", "cm_password", "staff_user", "staff_password"}) {
      host_.SetSecret(name, std::string("value of ") + name);
    }
  }

  void Bind(kaigo::options::v1::Role role, const std::string& user, const std::string& password) {
    auto* a = config_.mutable_platform()->add_accounts();
    a->set_role(role);
    a->set_user_id_secret(user);
    a->set_password_secret(password);
  }

  absl::Status Load() { return host_.Load(Api(), config_.SerializeAsString()); }

  // The role of the account a lookup acting in `roles` gets.
  std::string PickedFor(std::vector<std::string> roles) {
    auto result = host_.Call(kLookup, kaigo::v1::LookupByInsuredNumberRequest().SerializeAsString(),
                             absl::Seconds(5), std::move(roles));
    EXPECT_TRUE(result.status.ok()) << result.status;
    std::lock_guard<std::mutex> lock(picked_mu);
    return picked;
  }

  FakeHost host_;
  QualificationConfig config_;
};

TEST_F(PlatformAccountsTest, TheCallsRoleChoosesTheAccount) {
  Bind(kaigo::options::v1::ROLE_CARE_STAFF, "staff_user", "staff_password");
  Bind(kaigo::options::v1::ROLE_CARE_MANAGER, "cm_user", "cm_password");
  ASSERT_TRUE(Load().ok());
  {
    std::lock_guard<std::mutex> lock(picked_mu);
    EXPECT_EQ(bound, (std::vector<std::string>{"care_manager", "care_staff"}))
        << "in one order, whatever the settings' order";
  }
  EXPECT_EQ(PickedFor({"care_manager"}), "care_manager");
  EXPECT_EQ(PickedFor({"care_staff"}), "care_staff");
  EXPECT_EQ(PickedFor({"care_staff", "office_admin"}), "") << "several roles: the default";
  EXPECT_EQ(PickedFor({"office_admin", "care_staff", "care_manager"}), "")
      << "several roles, though each has a user: the default";
  EXPECT_EQ(PickedFor({"medical"}), "") << "no user of its own: the default";
  EXPECT_EQ(PickedFor({}), "") << "no roles (outside any person's call): the default";
  host_.Unload();
}

TEST_F(PlatformAccountsTest, WithoutAccountsEveryCallUsesTheDefault) {
  ASSERT_TRUE(Load().ok());
  EXPECT_EQ(PickedFor({"care_manager"}), "");
  host_.Unload();
}

TEST_F(PlatformAccountsTest, ARoleIsBoundOnce) {
  Bind(kaigo::options::v1::ROLE_CARE_MANAGER, "cm_user", "cm_password");
  Bind(kaigo::options::v1::ROLE_CARE_MANAGER, "staff_user", "staff_password");
  absl::Status s = Load();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "platform.accounts[1].role: care_manager is bound twice");
}

TEST_F(PlatformAccountsTest, AnOfficeRoleIsRequired) {
  Bind(kaigo::options::v1::ROLE_UNSPECIFIED, "cm_user", "cm_password");
  absl::Status s = Load();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("platform.accounts[0].role: required (care_manager, ", 0), 0u) << s;

  config_.mutable_platform()->mutable_accounts(0)->set_role(kaigo::options::v1::ROLE_ENGINE_ADMIN);
  s = Load();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("platform.accounts[0].role: engine_admin is not an office role", 0),
            0u)
      << s;
}

TEST_F(PlatformAccountsTest, BothSecretNamesAreRequired) {
  Bind(kaigo::options::v1::ROLE_CARE_MANAGER, "cm_user", "cm_password");
  Bind(kaigo::options::v1::ROLE_CARE_STAFF, "", "staff_password");
  absl::Status s = Load();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "platform.accounts[1].user_id_secret: required (a secret name)");

  config_.mutable_platform()->mutable_accounts(1)->set_user_id_secret("staff_user");
  config_.mutable_platform()->mutable_accounts(1)->clear_password_secret();
  s = Load();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "platform.accounts[1].password_secret: required (a secret name)");
}

TEST_F(PlatformAccountsTest, ASecretTheOfficeDoesNotBindIsNamed) {
  Bind(kaigo::options::v1::ROLE_CARE_STAFF, "staff_user", "no_such_secret");
  absl::Status s = Load();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "platform.accounts[0].password_secret: the office binds no secret 'no_such_secret'");
}

}  // namespace
}  // namespace kaigo::platform
