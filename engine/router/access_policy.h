// Who may call each method: the policy a method declares in its .proto (`(kaigo).access`, see
// proto/kaigo/options/v1/options.proto), narrowed or widened by the engine's configuration
// (`access:`), and the admission rule built on it. Default deny: a method without a policy is
// callable by nobody.
//
// Roles are their short names ("care_manager", "care_staff", "medical", "office_admin",
// "engine_admin"). Immutable values; thread-safe to read.
#ifndef KAIGO_ENGINE_ROUTER_ACCESS_POLICY_H_
#define KAIGO_ENGINE_ROUTER_ACCESS_POLICY_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.pb.h"
#include "kaigo/options/v1/options.pb.h"
#include "kaigo/sdk/roles.h"
#include "kaigo/v1/config.pb.h"

namespace kaigo::engine {

struct MethodPolicy {
  bool declared = false;           // false: nobody may call the method
  std::vector<std::string> roles;  // a care system acting in one of these may call it
  bool from_plugins = false;       // other concerns may call it for the same person
  bool plugins_only = false;       // only other concerns may call it
  std::string source;              // "proto", "configuration" or "none"
};

using sdk::AllRoles;
using sdk::OfficeRoles;  // what a caller gets on a desk install without `callers:`
using sdk::RoleName;

MethodPolicy PolicyOf(const kaigo::options::v1::MethodAccess& access, std::string source);
// The policy `method` declares in its options; `declared` is false without one.
MethodPolicy DeclaredPolicy(const google::protobuf::MethodOptions& options);

// The configuration's `access:` entries applied to `policies` (by method path), later entries
// winning. An entry naming no served method is an error naming it.
absl::Status ApplyOverrides(
    const google::protobuf::RepeatedPtrField<kaigo::v1::MethodAccessConfig>& overrides,
    std::map<std::string, MethodPolicy>* policies);

// Admits a care system's call to `method` acting in `acting` roles (those its caller was granted,
// or the one x-kaigo-role chose); returns those of them the policy allows, or PERMISSION_DENIED
// saying which roles the method needs.
absl::StatusOr<std::vector<std::string>> AdmitRoles(const std::string& method,
                                                    const MethodPolicy& policy,
                                                    const std::vector<std::string>& acting);

// Admits a call another concern makes for the person who called it (`person_roles`, empty for a
// plugin acting on its own, outside any call).
absl::Status AdmitFromPlugin(const std::string& method, const MethodPolicy& policy,
                             const std::vector<std::string>& person_roles);

// "care_manager, care_staff" or "nobody".
std::string DescribeRoles(const MethodPolicy& policy);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_ROUTER_ACCESS_POLICY_H_
