#include "engine/router/routing_table.h"

#include "kaigo/identifiers.h"

namespace kaigo::engine {

const std::vector<std::string>& RoutingTable::AllRoles() {
  static const std::vector<std::string> roles = {"care_manager", "care_staff", "medical",
                                                 "office_admin", "engine_admin"};
  return roles;
}

absl::StatusOr<std::vector<std::string>> RoutingTable::RolesOf(const std::string& caller) const {
  if (open_access) return AllRoles();
  auto it = callers.find(caller);
  if (it == callers.end()) {
    return absl::PermissionDeniedError("caller '" + caller + "' is not allowed to use this engine");
  }
  return it->second.roles;
}

absl::StatusOr<Admission> RoutingTable::Admit(const std::string& method, const std::string& office,
                                              const std::string& caller) const {
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
    return absl::InvalidArgumentError("metadata x-kaigo-office: " + std::string(s.message()));
  }
  Admission admission;
  if (open_access) {
    admission.roles = AllRoles();
  } else {
    auto grant = callers.find(caller);
    if (grant == callers.end()) {
      return absl::PermissionDeniedError("caller '" + caller +
                                         "' is not allowed to use this engine");
    }
    if (!grant->second.all_offices && grant->second.offices.count(office) == 0) {
      return absl::PermissionDeniedError("caller '" + caller + "' may not act for office " +
                                         office);
    }
    admission.roles = grant->second.roles;
  }
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

absl::StatusOr<sdk::host::Target> RoutingTable::Route(const std::string& office,
                                                      const std::string& method) const {
  auto m = methods.find(method);
  if (m == methods.end()) return absl::UnimplementedError("method " + method + " is not served");
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
