// certification — CertificationService: 要介護認定 progress, result and documents through the
// platform's web API. GetProgress, GetResult and ListDocuments answer at once; FetchDocument
// streams the PDF in chunks, the last carrying the SHA-256 of the whole; WatchProgress sends the
// current progress, then each change, polling the platform every poll_interval_seconds on one
// thread per instance. 認定情報 is shown only as the platform allows (the recipient's care
// managers). Each answer writes one audit record with a keyed recipient reference. Thread-safe.
#ifndef KAIGO_PLUGINS_CERTIFICATION_CERTIFICATION_H_
#define KAIGO_PLUGINS_CERTIFICATION_CERTIFICATION_H_

#include "kaigo/sdk/plugin_definition.h"
#include "platform_api.h"

namespace kaigo::plugins::certification {

sdk::PluginDefinition Define();
// The same plugin with each platform account's client made by `make_client` (empty: the real
// platform's), the seam its unit tests answer for the platform through.
sdk::PluginDefinition DefineWith(platform::ClientFactory make_client);

}  // namespace kaigo::plugins::certification

#endif  // KAIGO_PLUGINS_CERTIFICATION_CERTIFICATION_H_
