// card_reader_pcsc — CardReaderService: the office's card readers and the My Number card.
//
// Card operations (mynumber_operations.h) run on the instance's worker pool, each inside one
// session (a PC/SC transaction), never on an RPC thread. WatchReaders streams from one watching
// thread per instance that exists while someone watches. The My Number is returned only when the
// request asks and the caller has one of the roles in CardReaderConfig.my_number_roles; it is
// never logged or stored, and neither is any PIN. Thread-safe.
#ifndef KAIGO_PLUGINS_CARD_READER_PCSC_CARD_READER_H_
#define KAIGO_PLUGINS_CARD_READER_PCSC_CARD_READER_H_

#include <functional>
#include <memory>

#include "card_transport.h"
#include "kaigo/plugins/v1/card_reader_config.pb.h"
#include "kaigo/sdk/plugin_definition.h"

namespace kaigo::plugins::card {

// The plugin over PC/SC.
sdk::PluginDefinition Define();
// The same plugin over another transport (unit tests: an in-process fake reader).
sdk::PluginDefinition DefineWith(
    std::function<std::unique_ptr<CardTransport>(const kaigo::plugins::v1::CardReaderConfig&)>
        transport);

}  // namespace kaigo::plugins::card

#endif  // KAIGO_PLUGINS_CARD_READER_PCSC_CARD_READER_H_
