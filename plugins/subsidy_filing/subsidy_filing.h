// subsidy_filing — SubsidyService: the 助成金 for card readers and connection support.
//
// Rules come from a YAML file (SubsidyConfig.rules_file, read at instance creation). Drafts and
// their attachments are kept in the host store for this office (app/<id>, att/<id>/<attachment>)
// and survive restarts. Submit validates, uploads each attachment once (remembering the portal's
// id, so a retry after a crash does not upload again) and files the application with a client
// reference derived from the draft and its revision, so a retried submission is the same filing
// on the portal. Every submission and status change is audited with the application id as the
// subject. Thread-safe.
#ifndef KAIGO_PLUGINS_SUBSIDY_FILING_SUBSIDY_FILING_H_
#define KAIGO_PLUGINS_SUBSIDY_FILING_SUBSIDY_FILING_H_

#include "kaigo/sdk/plugin_definition.h"
#include "platform_api.h"

namespace kaigo::plugins::subsidy {

sdk::PluginDefinition Define();
// The same plugin with each platform account's client made by `make_client` (empty: the real
// platform's), the seam its unit tests answer for the platform through.
sdk::PluginDefinition DefineWith(platform::ClientFactory make_client);

}  // namespace kaigo::plugins::subsidy

#endif  // KAIGO_PLUGINS_SUBSIDY_FILING_SUBSIDY_FILING_H_
