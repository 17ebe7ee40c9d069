// remote_engine — a concern of this office served by another kaigo-bridge engine. Bound like any
// plugin (`service: kaigo.v1.CardReaderService, plugin: remote_engine`), it passes each call on
// over gRPC, unread: the request's bytes out, the response's (or the stream's) bytes back, the
// status as the other engine gave it. The office's edge engine at the desk serves the card reader;
// the hosted engine reaches it this way — routing a concern to a remote engine is configuration.
//
// The other engine sees this engine's client certificate as the caller and the office in
// x-kaigo-office; the caller's deadline is passed on, cancellation too. Thread-safe.
#ifndef KAIGO_PLUGINS_REMOTE_ENGINE_REMOTE_ENGINE_H_
#define KAIGO_PLUGINS_REMOTE_ENGINE_REMOTE_ENGINE_H_

#include "kaigo/sdk/plugin_definition.h"

namespace kaigo::plugins::remote {

sdk::PluginDefinition Define();

}  // namespace kaigo::plugins::remote

#endif  // KAIGO_PLUGINS_REMOTE_ENGINE_REMOTE_ENGINE_H_
