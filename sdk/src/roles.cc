#include "kaigo/sdk/roles.h"

#include "absl/strings/ascii.h"

namespace kaigo::sdk {

std::string RoleName(kaigo::options::v1::Role role) {
  if (role == kaigo::options::v1::ROLE_UNSPECIFIED || !kaigo::options::v1::Role_IsValid(role))
    return "";
  return absl::AsciiStrToLower(kaigo::options::v1::Role_Name(role).substr(5));  // past "ROLE_"
}

const std::vector<std::string>& AllRoles() {
  static const std::vector<std::string>* roles = [] {
    auto* out = new std::vector<std::string>();
    const auto* e = kaigo::options::v1::Role_descriptor();
    for (int i = 0; i < e->value_count(); ++i) {
      std::string name = RoleName(static_cast<kaigo::options::v1::Role>(e->value(i)->number()));
      if (!name.empty()) out->push_back(name);
    }
    return out;
  }();
  return *roles;
}

const std::vector<std::string>& OfficeRoles() {
  static const std::vector<std::string>* roles = [] {
    auto* out = new std::vector<std::string>();
    for (const auto& r : AllRoles()) {
      if (r != "engine_admin") out->push_back(r);
    }
    return out;
  }();
  return *roles;
}

}  // namespace kaigo::sdk
