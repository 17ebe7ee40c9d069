#include "engine/router/routing_table.h"

#include <algorithm>

#include "absl/strings/str_split.h"
#include "kaigo/identifiers.h"
#include "kaigo/sdk/error_details.h"

namespace kaigo::engine {

absl::StatusOr<std::vector<std::string>> RoutingTable::RolesOf(const std::string& caller) const {
  if (open_access) return OfficeRoles();
  auto it = callers.find(caller);
  if (it == callers.end()) {
    return absl::PermissionDeniedError("caller '" + caller + "' is not allowed to use this engine");
  }
  return it->second.roles;
}

absl::StatusOr<std::vector<std::string>> RoutingTable::ActingRoles(const std::string& caller,
                                                                   const std::string& role) const {
  auto granted = RolesOf(caller);
  if (!granted.ok() || role.empty()) return granted;
  if (std::find(granted->begin(), granted->end(), role) == granted->end()) {
    return absl::PermissionDeniedError("metadata x-kaigo-role: caller '" + caller +
                                       "' is not granted the role '" + role + "'");
  }
  return std::vector<std::string>{role};
}

absl::StatusOr<Admission> RoutingTable::Admit(const std::string& method, const std::string& office,
                                              const std::string& caller,
                                              const CallerClaims& claims) const {
  auto m = methods.find(method);
  if (m == methods.end()) {
    return absl::UnimplementedError("method " + method + " is not served by this engine");
  }
  if (office.empty()) {
    return absl::UnauthenticatedError(
        "metadata x-kaigo-office is required: the 10-character office number (介護保険事業所番号) "
        "the call acts for");
  }
  if (absl::Status s = ValidateOfficeNumber(office); !s.ok()) {
    return sdk::WithFieldViolation(
        absl::InvalidArgumentError("metadata x-kaigo-office: " + std::string(s.message())),
        {"x-kaigo-office", "OFFICE_NUMBER", std::string(s.message())});
  }
  Admission admission;
  admission.caller = caller;
  auto acting = ActingRoles(caller, claims.role);
  if (!acting.ok()) return acting.status();
  if (!claims.on_behalf_of.empty()) {
    auto grant = callers.find(caller);
    if (open_access || grant == callers.end() || !grant->second.delegate) {
      return absl::PermissionDeniedError("caller '" + caller +
                                         "' may not act on behalf of others (callers[].delegate)");
    }
    std::vector<std::string> person =
        absl::StrSplit(claims.on_behalf_of_roles, ',', absl::SkipEmpty());
    std::vector<std::string> narrowed;
    for (const auto& r : *acting) {
      if (std::find(person.begin(), person.end(), r) != person.end()) narrowed.push_back(r);
    }
    *acting = std::move(narrowed);
    admission.caller = claims.on_behalf_of + " via " + caller;
  }
  if (!open_access) {
    const CallerGrant& grant = callers.at(caller);
    if (!grant.all_offices && grant.offices.count(office) == 0) {
      return absl::PermissionDeniedError("caller '" + caller + "' may not act for office " +
                                         office);
    }
  }
  auto allowed = AdmitRoles(method, m->second.policy, *acting);
  if (!allowed.ok()) return allowed.status();
  admission.roles = *std::move(allowed);
  auto o = offices.find(office);
  if (o == offices.end()) {
    return absl::NotFoundError("office " + office + " is not served by this engine");
  }
  auto binding = o->second.services.find(m->second.service);
  if (binding == o->second.services.end()) {
    return absl::UnimplementedError("no plugin serves " + m->second.service + " for office " +
                                    office);
  }
  admission.target = PluginInstance::TargetOf(binding->second.instance);
  admission.target.server_streaming = m->second.server_streaming;
  auto series = binding->second.metrics->find(method);
  admission.metrics = series == binding->second.metrics->end() ? nullptr : series->second;
  return admission;
}

absl::StatusOr<sdk::host::Target> RoutingTable::Route(
    const std::string& office, const std::string& method,
    const std::vector<std::string>& person_roles) const {
  auto m = methods.find(method);
  if (m == methods.end()) return absl::UnimplementedError("method " + method + " is not served");
  if (absl::Status s = AdmitFromPlugin(method, m->second.policy, person_roles); !s.ok()) return s;
  auto o = offices.find(office);
  if (o == offices.end()) return absl::NotFoundError("office " + office + " is not served");
  auto binding = o->second.services.find(m->second.service);
  if (binding == o->second.services.end()) {
    return absl::UnimplementedError("no plugin serves " + m->second.service + " for office " +
                                    office);
  }
  sdk::host::Target target = PluginInstance::TargetOf(binding->second.instance);
  target.server_streaming = m->second.server_streaming;
  return target;
}

}  // namespace kaigo::engine
