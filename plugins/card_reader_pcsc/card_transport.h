// How the card reader plugin reaches readers and cards: PC/SC-Lite in production
// (pcsc_transport.h), an in-process fake in unit tests. Implementations are thread-safe; every
// call may block (call them from worker threads, never from an RPC thread).
#ifndef KAIGO_PLUGINS_CARD_READER_PCSC_CARD_TRANSPORT_H_
#define KAIGO_PLUGINS_CARD_READER_PCSC_CARD_TRANSPORT_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kaigo::plugins::card {

struct ReaderState {
  std::string name;
  bool card_present = false;
  // Changes with every insertion, so a card pulled and put back between two looks is seen.
  uint64_t card_generation = 0;

  bool operator==(const ReaderState& o) const {
    return name == o.name && card_present == o.card_present && card_generation == o.card_generation;
  }
};

// A connection to one card, inside a PC/SC transaction: no other program exchanges APDUs with
// the card until the session ends. Ending it resets the card, so nothing verified outlives it.
class CardSession {
 public:
  virtual ~CardSession() = default;
  // The R-APDU (data + SW1 SW2). ABORTED when the card was removed.
  virtual absl::StatusOr<std::string> Transmit(std::string_view apdu) = 0;
};

class CardTransport {
 public:
  virtual ~CardTransport() = default;
  // UNAVAILABLE when the PC/SC service does not answer; an empty list when it has no readers.
  virtual absl::StatusOr<std::vector<ReaderState>> Readers() = 0;
  // Blocks until the readers differ from `known`, `timeout` passes or Interrupt() is called;
  // returns the readers as they are then.
  virtual absl::StatusOr<std::vector<ReaderState>> AwaitChange(
      const std::vector<ReaderState>& known, absl::Duration timeout) = 0;
  // Wakes AwaitChange (from any thread).
  virtual void Interrupt() = 0;
  // A session with the card in `reader`. While another program holds the reader exclusively it
  // retries until `deadline`, then UNAVAILABLE. NOT_FOUND: no such reader, or no card in it.
  virtual absl::StatusOr<std::unique_ptr<CardSession>> Open(const std::string& reader,
                                                            absl::Time deadline) = 0;
};

}  // namespace kaigo::plugins::card

#endif  // KAIGO_PLUGINS_CARD_READER_PCSC_CARD_TRANSPORT_H_
