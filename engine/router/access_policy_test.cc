// The access policy: a method's declared policy read from its options (default deny), the
// configuration's overrides (a whole service, later entries winning, an entry naming nothing
// refused), and the admission rules for care systems and for other concerns.
#include "engine/router/access_policy.h"

#include <gtest/gtest.h>

#include "kaigo/sdk/plugin_definition.h"

namespace kaigo::engine {
namespace {

using kaigo::options::v1::MethodAccess;
using kaigo::options::v1::Role;

MethodPolicy Policy(std::vector<Role> roles, bool from_plugins = false, bool plugins_only = false) {
  MethodAccess access;
  for (Role r : roles) access.add_roles(r);
  access.set_from_plugins(from_plugins);
  access.set_plugins_only(plugins_only);
  return PolicyOf(access, "test");
}

TEST(AccessPolicyTest, AMethodWithoutAPolicyIsCallableByNobody) {
  MethodPolicy none = DeclaredPolicy(google::protobuf::MethodOptions());
  EXPECT_FALSE(none.declared);
  EXPECT_EQ(none.source, "none");
  auto admitted = AdmitRoles("/x.S/M", none, {"care_manager", "office_admin"});
  EXPECT_EQ(admitted.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(admitted.status().message().find("no access policy"), std::string::npos);
  EXPECT_FALSE(AdmitFromPlugin("/x.S/M", none, {"care_manager"}).ok());
}

TEST(AccessPolicyTest, TheDeclaredPolicyComesFromTheMethodsOptions) {
  const auto* service = sdk::FindService("kaigo.v1.SubsidyService");
  ASSERT_NE(service, nullptr);
  const auto* submit = service->FindMethodByName("SubmitApplication");
  ASSERT_NE(submit, nullptr);
  google::protobuf::MethodOptions options;
  options.CopyFrom(submit->options());
  MethodPolicy policy = DeclaredPolicy(options);
  EXPECT_TRUE(policy.declared);
  EXPECT_EQ(policy.source, "proto");
  EXPECT_EQ(policy.roles, std::vector<std::string>{"office_admin"});
}

TEST(AccessPolicyTest, ACareSystemActsInTheRolesThePolicyAllows) {
  MethodPolicy policy =
      Policy({kaigo::options::v1::ROLE_CARE_MANAGER, kaigo::options::v1::ROLE_CARE_STAFF});
  auto admitted = AdmitRoles("/x.S/M", policy, {"office_admin", "care_staff", "care_manager"});
  ASSERT_TRUE(admitted.ok());
  EXPECT_EQ(*admitted, (std::vector<std::string>{"care_staff", "care_manager"}));
  auto refused = AdmitRoles("/x.S/M", policy, {"medical"});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(refused.status().message().find("needs one of: care_manager, care_staff"),
            std::string::npos)
      << refused.status();
  EXPECT_EQ(AdmitRoles("/x.S/M", Policy({}, false, true), {"care_manager"}).status().code(),
            absl::StatusCode::kPermissionDenied)
      << "plugins only";
}

TEST(AccessPolicyTest, OtherConcernsCallOnlyWhereThePolicySaysSo) {
  MethodPolicy closed = Policy({kaigo::options::v1::ROLE_CARE_MANAGER});
  EXPECT_EQ(AdmitFromPlugin("/x.S/M", closed, {"care_manager"}).code(),
            absl::StatusCode::kPermissionDenied);
  MethodPolicy open = Policy({kaigo::options::v1::ROLE_CARE_MANAGER}, /*from_plugins=*/true);
  EXPECT_TRUE(AdmitFromPlugin("/x.S/M", open, {"care_manager"}).ok());
  EXPECT_EQ(AdmitFromPlugin("/x.S/M", open, {"care_staff"}).code(),
            absl::StatusCode::kPermissionDenied)
      << "for a person in a role the method does not allow";
  EXPECT_TRUE(AdmitFromPlugin("/x.S/M", Policy({}, false, true), {}).ok());
  EXPECT_EQ(DescribeRoles(open), "care_manager; other concerns for them");
  EXPECT_EQ(DescribeRoles(Policy({}, false, true)), "other concerns only");
}

TEST(AccessPolicyTest, TheConfigurationOverridesMethodsAndServicesLaterEntriesWinning) {
  std::map<std::string, MethodPolicy> policies = {
      {"/kaigo.v1.SubsidyService/GetRules", Policy({kaigo::options::v1::ROLE_OFFICE_ADMIN})},
      {"/kaigo.v1.SubsidyService/Estimate", Policy({kaigo::options::v1::ROLE_OFFICE_ADMIN})},
      {"/kaigo.v1.OtpService/RequestOtp", Policy({}, false, true)}};
  google::protobuf::RepeatedPtrField<kaigo::v1::MethodAccessConfig> overrides;
  auto* all = overrides.Add();
  all->set_method("/kaigo.v1.SubsidyService/*");
  all->mutable_policy()->add_roles(kaigo::options::v1::ROLE_CARE_STAFF);
  auto* one = overrides.Add();
  one->set_method("/kaigo.v1.SubsidyService/Estimate");
  one->mutable_policy()->add_roles(kaigo::options::v1::ROLE_MEDICAL);
  ASSERT_TRUE(ApplyOverrides(overrides, &policies).ok());
  EXPECT_EQ(policies["/kaigo.v1.SubsidyService/GetRules"].roles,
            std::vector<std::string>{"care_staff"});
  EXPECT_EQ(policies["/kaigo.v1.SubsidyService/GetRules"].source, "configuration");
  EXPECT_EQ(policies["/kaigo.v1.SubsidyService/Estimate"].roles,
            std::vector<std::string>{"medical"});
  EXPECT_TRUE(policies["/kaigo.v1.OtpService/RequestOtp"].plugins_only) << "untouched";

  auto* stray = overrides.Add();
  stray->set_method("/kaigo.v1.NoService/*");
  absl::Status s = ApplyOverrides(overrides, &policies);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("access[2].method:", 0), 0u) << s;
}

}  // namespace
}  // namespace kaigo::engine
