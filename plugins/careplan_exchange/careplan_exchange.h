// careplan_exchange — CarePlanExchangeService: ケアプランデータ連携 on the 4.1 CSV standard
// through the platform, with evidence of every send and receipt, and the
// 居宅サービス計画作成依頼届出.
//
// Files are checked with the careplan library (careplan/): strictly before anything is sent,
// tolerantly when received. Send names the files for each destination with a ファイル連番 greater
// than any this office used (kept in the host store, so a restart never reuses one) and sends each
// destination separately with a client reference derived from the request's, so a retried Send is
// the same send on the platform. Evidence records live in the host store in the order they were
// made and carry keyed recipient references, never the numbers. Every send, fetch,
// acknowledgement and notification is audited. Thread-safe.
#ifndef KAIGO_PLUGINS_CAREPLAN_EXCHANGE_CAREPLAN_EXCHANGE_H_
#define KAIGO_PLUGINS_CAREPLAN_EXCHANGE_CAREPLAN_EXCHANGE_H_

#include "kaigo/sdk/plugin_definition.h"
#include "platform_api.h"

namespace kaigo::plugins::careplan {

sdk::PluginDefinition Define();
// The same plugin with each platform account's client made by `make_client` (empty: the real
// platform's), the seam its unit tests answer for the platform through.
sdk::PluginDefinition DefineWith(platform::ClientFactory make_client);

}  // namespace kaigo::plugins::careplan

#endif  // KAIGO_PLUGINS_CAREPLAN_EXCHANGE_CAREPLAN_EXCHANGE_H_
