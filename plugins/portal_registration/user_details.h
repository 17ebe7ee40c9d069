// The portal's rules for a user's details (shared/domain.md §2 step 5), each broken rule an
// INVALID_ARGUMENT naming the field ("details.phone: …"). Pure; thread-safe.
#ifndef KAIGO_PLUGINS_PORTAL_REGISTRATION_USER_DETAILS_H_
#define KAIGO_PLUGINS_PORTAL_REGISTRATION_USER_DETAILS_H_

#include <string>

#include "absl/status/status.h"
#include "kaigo/v1/portal_registration.pb.h"

namespace kaigo::plugins::portal {

// `field` prefixes the field names, e.g. "details".
absl::Status CheckUserDetails(const kaigo::v1::UserDetails& d, const std::string& field);

}  // namespace kaigo::plugins::portal

#endif  // KAIGO_PLUGINS_PORTAL_REGISTRATION_USER_DETAILS_H_
