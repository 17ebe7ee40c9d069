// portal_registration — PortalRegistrationService (see proto/kaigo/v1/portal_registration.proto).
//
// Each flow is a StoredFlow in the host store, saved after every step the portal accepted, so the
// flow resumes after a crash and never asks again for what was accepted: a one-time password
// obtained is sealed and kept until the portal took it; a step the portal reports as already
// done (WRONG_STEP past it) counts as done. One-time passwords come from the OTP concern through
// the host. Passwords are sealed (sealing.h) and erased when the flow ends; the portal session
// for added users is kept sealed. Calls on one flow run one at a time. Thread-safe.
#ifndef KAIGO_PLUGINS_PORTAL_REGISTRATION_PORTAL_REGISTRATION_H_
#define KAIGO_PLUGINS_PORTAL_REGISTRATION_PORTAL_REGISTRATION_H_

#include "kaigo/sdk/plugin_definition.h"
#include "platform_api.h"

namespace kaigo::plugins::portal {

sdk::PluginDefinition Define();
// The same plugin with each platform account's client made by `make_client` (empty: the real
// platform's), the seam its unit tests answer for the platform through.
sdk::PluginDefinition DefineWith(platform::ClientFactory make_client);

}  // namespace kaigo::plugins::portal

#endif  // KAIGO_PLUGINS_PORTAL_REGISTRATION_PORTAL_REGISTRATION_H_
