#include "engine/router/access_policy.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace kaigo::engine {

MethodPolicy PolicyOf(const kaigo::options::v1::MethodAccess& access, std::string source) {
  MethodPolicy policy;
  policy.declared = true;
  for (int r : access.roles()) {
    std::string name = RoleName(static_cast<kaigo::options::v1::Role>(r));
    if (!name.empty()) policy.roles.push_back(name);
  }
  policy.plugins_only = access.plugins_only();
  policy.from_plugins = access.from_plugins() || access.plugins_only();
  policy.source = std::move(source);
  return policy;
}

MethodPolicy DeclaredPolicy(const google::protobuf::MethodOptions& options) {
  if (!options.HasExtension(kaigo::options::v1::kaigo) ||
      !options.GetExtension(kaigo::options::v1::kaigo).has_access()) {
    MethodPolicy none;
    none.source = "none";
    return none;
  }
  return PolicyOf(options.GetExtension(kaigo::options::v1::kaigo).access(), "proto");
}

absl::Status ApplyOverrides(
    const google::protobuf::RepeatedPtrField<kaigo::v1::MethodAccessConfig>& overrides,
    std::map<std::string, MethodPolicy>* policies) {
  for (int i = 0; i < overrides.size(); ++i) {
    const auto& entry = overrides[i];
    bool whole_service = absl::EndsWith(entry.method(), "/*");
    std::string prefix =
        whole_service ? entry.method().substr(0, entry.method().size() - 1) : entry.method();
    int matched = 0;
    for (auto& [path, policy] : *policies) {
      if (whole_service ? absl::StartsWith(path, prefix) : path == entry.method()) {
        policy = PolicyOf(entry.policy(), "configuration");
        ++matched;
      }
    }
    if (matched == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "access[", i, "].method: \"", entry.method(),
          "\" names no method this engine serves (write \"/package.Service/Method\" or "
          "\"/package.Service/*\")"));
    }
  }
  return absl::OkStatus();
}

std::string DescribeRoles(const MethodPolicy& policy) {
  if (!policy.declared) return "nobody (no policy)";
  if (policy.plugins_only) return "other concerns only";
  std::string roles = policy.roles.empty() ? "nobody" : absl::StrJoin(policy.roles, ", ");
  return policy.from_plugins ? roles + "; other concerns for them" : roles;
}

absl::StatusOr<std::vector<std::string>> AdmitRoles(const std::string& method,
                                                    const MethodPolicy& policy,
                                                    const std::vector<std::string>& acting) {
  if (!policy.declared) {
    return absl::PermissionDeniedError(
        method +
        " has no access policy: nobody may call it until the engine's configuration "
        "grants it (access:)");
  }
  if (policy.plugins_only) {
    return absl::PermissionDeniedError(method +
                                       " is called only by other concerns of the office, not by "
                                       "care systems");
  }
  std::vector<std::string> allowed;
  for (const auto& role : acting) {
    if (std::find(policy.roles.begin(), policy.roles.end(), role) != policy.roles.end()) {
      allowed.push_back(role);
    }
  }
  if (allowed.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "acting as ", acting.empty() ? "no role" : absl::StrJoin(acting, ", "),
        " the caller may not call ", method, "; it needs one of: ", DescribeRoles(policy)));
  }
  return allowed;
}

absl::Status AdmitFromPlugin(const std::string& method, const MethodPolicy& policy,
                             const std::vector<std::string>& person_roles) {
  if (policy.plugins_only) return absl::OkStatus();
  if (!policy.from_plugins) {
    return absl::PermissionDeniedError(method + " may not be called by another concern");
  }
  auto allowed = AdmitRoles(method, policy, person_roles);
  return allowed.ok() ? absl::OkStatus() : allowed.status();
}

}  // namespace kaigo::engine
