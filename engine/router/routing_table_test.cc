// The routing table's admission, on a table built by hand: the order of refusals (an unknown
// method, no office, a malformed office, a caller not configured, a role not granted, an office
// not granted, a role the method does not allow, an office or service not served), open access
// on a desk install, delegates acting for a person, and calls between concerns.
#include "engine/router/routing_table.h"

#include <gtest/gtest.h>

namespace kaigo::engine {
namespace {

constexpr char kLookup[] = "/kaigo.v1.QualificationService/LookupByInsuredNumber";
constexpr char kRequestOtp[] = "/kaigo.v1.OtpService/RequestOtp";
constexpr char kOffice[] = "1371000017";       // served, with no plugin bound
constexpr char kOtherOffice[] = "1371000025";  // valid, not served

MethodPolicy Roles(std::vector<std::string> roles, bool from_plugins = false,
                   bool plugins_only = false) {
  MethodPolicy p;
  p.declared = true;
  p.roles = std::move(roles);
  p.from_plugins = from_plugins || plugins_only;
  p.plugins_only = plugins_only;
  return p;
}

RoutingTable Table(bool open_access) {
  RoutingTable t;
  t.methods[kLookup] = {"kaigo.v1.QualificationService", false,
                        Roles({"care_manager", "care_staff"}, /*from_plugins=*/true)};
  t.methods[kRequestOtp] = {"kaigo.v1.OtpService", false, Roles({}, false, true)};
  t.offices[kOffice] = OfficeRoute{kOffice, "さくら", {}};
  t.open_access = open_access;
  t.callers["desk"] = CallerGrant{false, {kOffice}, {"care_manager", "office_admin"}, false};
  t.callers["hosted"] = CallerGrant{true, {}, {"care_manager", "care_staff"}, true};
  return t;
}

// Admission gets past every check of who may call once it reaches the routing itself: the office
// served binds no plugin here, so an admitted call ends UNIMPLEMENTED "no plugin serves".
bool Admitted(const absl::StatusOr<Admission>& a) {
  return a.status().code() == absl::StatusCode::kUnimplemented &&
         a.status().message().find("no plugin serves") != std::string::npos;
}

TEST(RoutingTableTest, RefusalsComeInTheOrderOfTheChecks) {
  RoutingTable t = Table(false);
  EXPECT_EQ(t.Admit("/kaigo.v1.Nothing/M", kOffice, "desk").status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(t.Admit(kLookup, "", "desk").status().code(), absl::StatusCode::kUnauthenticated);
  auto malformed = t.Admit(kLookup, "1371000018", "desk");  // check digit
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(malformed.status().message().rfind("metadata x-kaigo-office:", 0), 0u);
  EXPECT_EQ(t.Admit(kLookup, kOffice, "stranger").status().code(),
            absl::StatusCode::kPermissionDenied);
  auto not_granted = t.Admit(kLookup, kOffice, "desk", {"medical", "", ""});
  EXPECT_EQ(not_granted.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(not_granted.status().message().rfind("metadata x-kaigo-role:", 0), 0u);
  auto other_office = t.Admit(kLookup, kOtherOffice, "desk");
  EXPECT_EQ(other_office.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(other_office.status().message().find("may not act for office"), std::string::npos);
  auto wrong_role = t.Admit(kLookup, kOffice, "desk", {"office_admin", "", ""});
  EXPECT_EQ(wrong_role.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(wrong_role.status().message().find("needs one of"), std::string::npos);
  EXPECT_EQ(t.Admit(kLookup, kOtherOffice, "hosted").status().code(), absl::StatusCode::kNotFound)
      << "an office granted (all offices) but not served";
  EXPECT_TRUE(Admitted(t.Admit(kLookup, kOffice, "desk")));
}

TEST(RoutingTableTest, ACallActsInTheRolesTheCallerHoldsAndTheMethodAllows) {
  RoutingTable t = Table(false);
  EXPECT_EQ(*t.ActingRoles("desk", ""), (std::vector<std::string>{"care_manager", "office_admin"}));
  EXPECT_EQ(*t.ActingRoles("desk", "office_admin"), std::vector<std::string>{"office_admin"});
  EXPECT_EQ(t.RolesOf("stranger").status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(RoutingTableTest, WithoutCallersEveryCallerActsInEveryOfficeRoleButNeverAsEngineAdmin) {
  RoutingTable t = Table(true);
  auto roles = t.RolesOf("anyone");
  ASSERT_TRUE(roles.ok());
  EXPECT_EQ(std::count(roles->begin(), roles->end(), "engine_admin"), 0);
  EXPECT_EQ(std::count(roles->begin(), roles->end(), "care_manager"), 1);
  EXPECT_TRUE(Admitted(t.Admit(kLookup, kOffice, "anyone")));
  EXPECT_EQ(t.Admit(kLookup, kOffice, "anyone", {"engine_admin", "", ""}).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(t.Admit(kLookup, kOffice, "anyone", {"", "person", "care_manager"}).status().code(),
            absl::StatusCode::kPermissionDenied)
      << "nobody is a delegate without callers";
}

TEST(RoutingTableTest, ADelegateActsInThePersonsRolesOnly) {
  RoutingTable t = Table(false);
  EXPECT_TRUE(Admitted(t.Admit(kLookup, kOffice, "hosted", {"", "taro", "care_staff,medical"})));
  auto outside = t.Admit(kLookup, kOffice, "hosted", {"", "taro", "medical"});
  EXPECT_EQ(outside.status().code(), absl::StatusCode::kPermissionDenied)
      << "the person's roles narrow the delegate's";
  auto not_delegate = t.Admit(kLookup, kOffice, "desk", {"", "taro", "care_manager"});
  EXPECT_EQ(not_delegate.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(not_delegate.status().message().find("callers[].delegate"), std::string::npos);
}

TEST(RoutingTableTest, CallsBetweenConcernsFollowTheCalleesPolicy) {
  RoutingTable t = Table(false);
  EXPECT_EQ(t.Route(kOffice, kLookup, {"care_manager"}).status().code(),
            absl::StatusCode::kUnimplemented)
      << "admitted; no plugin serves it here";
  EXPECT_EQ(t.Route(kOffice, kLookup, {"office_admin"}).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(t.Route(kOtherOffice, kRequestOtp, {}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(t.Route(kOffice, "/kaigo.v1.Nothing/M", {}).status().code(),
            absl::StatusCode::kUnimplemented);
  // A care system may not call what only concerns call.
  EXPECT_EQ(t.Admit(kRequestOtp, kOffice, "desk").status().code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace kaigo::engine
