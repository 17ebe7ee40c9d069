// The roles a call acts in, by the short names the host passes plugins (kaigo_call_info.roles) and
// configurations use: "care_manager", "care_staff", "medical", "office_admin", "engine_admin" —
// kaigo.v1.Role without its ROLE_ prefix, lower case. One table for the engine, the SDK and
// plugins. Pure; thread-safe.
#ifndef KAIGO_SDK_ROLES_H_
#define KAIGO_SDK_ROLES_H_

#include <string>
#include <vector>

#include "kaigo/options/v1/options.pb.h"

namespace kaigo::sdk {

// "care_manager" for ROLE_CARE_MANAGER; "" for ROLE_UNSPECIFIED and unknown values.
std::string RoleName(kaigo::options::v1::Role role);
// Every role, in the enum's order.
const std::vector<std::string>& AllRoles();
// The roles of an office's staff (every role but engine_admin).
const std::vector<std::string>& OfficeRoles();

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_ROLES_H_
