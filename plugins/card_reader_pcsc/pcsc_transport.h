// CardTransport over PC/SC-Lite (libpcsclite → pcscd). Each call opens its own PC/SC context, so
// calls from different threads never share one; AwaitChange keeps one context for the watching
// thread, which Interrupt() cancels (SCardCancel is the one call PC/SC allows across threads).
// Sessions connect shared, then hold a transaction; SCARD_E_SHARING_VIOLATION (another program
// holds the reader exclusively) is retried every 100 ms until the deadline. Sessions end with a
// card reset. Thread-safe.
#ifndef KAIGO_PLUGINS_CARD_READER_PCSC_PCSC_TRANSPORT_H_
#define KAIGO_PLUGINS_CARD_READER_PCSC_PCSC_TRANSPORT_H_

#include <memory>
#include <mutex>

#include "card_transport.h"

namespace kaigo::plugins::card {

// Only readers whose names start with `prefix` (empty: all) are reported.
std::unique_ptr<CardTransport> NewPcscTransport(std::string prefix);

}  // namespace kaigo::plugins::card

#endif  // KAIGO_PLUGINS_CARD_READER_PCSC_PCSC_TRANSPORT_H_
