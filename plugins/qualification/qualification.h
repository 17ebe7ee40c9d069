// qualification — QualificationService: 資格情報等の確認 through the platform's web API.
//
// LookupByInsuredNumber validates 保険者番号 (check digit) and 被保険者番号, asks the platform (see
// plugins/common/platform_client) and answers with the structured result and a verdict. Each
// answer that carries personal data writes one audit record whose subject is a keyed hash of the
// recipient (never the numbers). Results may be served again from a per-office cache for at most
// cache_ttl_seconds. Thread-safe.
#ifndef KAIGO_PLUGINS_QUALIFICATION_QUALIFICATION_H_
#define KAIGO_PLUGINS_QUALIFICATION_QUALIFICATION_H_

#include "kaigo/sdk/plugin_definition.h"
#include "platform_api.h"

namespace kaigo::plugins::qualification {

sdk::PluginDefinition Define();
// The same plugin with each platform account's client made by `make_client` (empty: the real
// platform's), the seam its unit tests answer for the platform through.
sdk::PluginDefinition DefineWith(platform::ClientFactory make_client);

}  // namespace kaigo::plugins::qualification

#endif  // KAIGO_PLUGINS_QUALIFICATION_QUALIFICATION_H_
