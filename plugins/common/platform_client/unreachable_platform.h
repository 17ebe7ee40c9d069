// For plugin unit tests on the SDK's fake host: settings of a platform connection that is never
// reached (clients log in on first use, so requests refused before that need no platform), with
// the secrets they name bound to placeholder values. Header-only; tests only.
#ifndef KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_UNREACHABLE_PLATFORM_H_
#define KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_UNREACHABLE_PLATFORM_H_

#include <string>

#include "kaigo/plugins/v1/platform_config.pb.h"
#include "kaigo/sdk/fake_host.h"

namespace kaigo::platform::testing {

inline void UseUnreachablePlatform(sdk::testing::FakeHost* host,
                                   kaigo::plugins::v1::PlatformConnection* p) {
  for (const char* name : {"ca", "p12", "p12_password", "user", "password"}) {
    host->SetSecret(name, std::string("value of ") + name);
  }
  p->set_base_url("https://127.0.0.1:1");
  p->set_ca_secret("ca");
  p->set_certificate_secret("p12");
  p->set_certificate_password_secret("p12_password");
  p->set_user_id_secret("user");
  p->set_password_secret("password");
}

}  // namespace kaigo::platform::testing

#endif  // KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_UNREACHABLE_PLATFORM_H_
