// An in-process CardTransport for unit tests: readers that hold virtual My Number cards
// (tests/virtual_card/mynumber_card.h), inserted and removed by the test, a reader another
// program holds, and a card pulled out after a given number of APDUs. Thread-safe.
#ifndef KAIGO_PLUGINS_CARD_READER_PCSC_FAKE_TRANSPORT_H_
#define KAIGO_PLUGINS_CARD_READER_PCSC_FAKE_TRANSPORT_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>

#include "card_transport.h"
#include "tests/virtual_card/mynumber_card.h"

namespace kaigo::plugins::card {

class FakeTransport : public CardTransport {
 public:
  struct Slot {
    std::shared_ptr<testing::MyNumberCard> card;
    uint64_t generation = 0;
    bool held_elsewhere = false;
    int pull_after_apdus = 0;  // 0: never
  };

  void AddReader(const std::string& name) {
    Change([&] { slots_[name]; });
  }
  void Insert(const std::string& reader, std::shared_ptr<testing::MyNumberCard> card,
              int pull_after_apdus = 0) {
    Change([&] {
      Slot& s = slots_[reader];
      s.card = std::move(card);
      s.card->PowerEvent();
      ++s.generation;
      s.pull_after_apdus = pull_after_apdus;
    });
  }
  void Remove(const std::string& reader) {
    Change([&] { slots_[reader].card.reset(); });
  }
  void HoldElsewhere(const std::string& reader, bool held) {
    Change([&] { slots_[reader].held_elsewhere = held; });
  }

  absl::StatusOr<std::vector<ReaderState>> Readers() override {
    std::lock_guard<std::mutex> lock(mu_);
    return StatesLocked();
  }

  absl::StatusOr<std::vector<ReaderState>> AwaitChange(const std::vector<ReaderState>& known,
                                                       absl::Duration timeout) override {
    std::unique_lock<std::mutex> lock(mu_);
    uint64_t interrupts = interrupts_;
    changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                      [&] { return StatesLocked() != known || interrupts_ != interrupts; });
    return StatesLocked();
  }

  void Interrupt() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++interrupts_;
    changed_.notify_all();
  }

  absl::StatusOr<std::unique_ptr<CardSession>> Open(const std::string& reader,
                                                    absl::Time deadline) override {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      auto it = slots_.find(reader);
      if (it == slots_.end()) return absl::NotFoundError("reader: no such reader");
      if (!it->second.card) return absl::NotFoundError("reader: no card in the reader");
      if (!it->second.held_elsewhere) {
        return std::unique_ptr<CardSession>(new Session(this, reader, it->second.card));
      }
      if (changed_.wait_until(lock, absl::ToChronoTime(deadline)) == std::cv_status::timeout) {
        return absl::UnavailableError("reader '" + reader + "': held by another program");
      }
    }
  }

 private:
  class Session : public CardSession {
   public:
    Session(FakeTransport* t, std::string reader, std::shared_ptr<testing::MyNumberCard> card)
        : t_(t), reader_(std::move(reader)), card_(std::move(card)) {}
    ~Session() override {  // the reset that ends a PC/SC session
      std::lock_guard<std::mutex> lock(t_->mu_);
      card_->PowerEvent();
    }
    absl::StatusOr<std::string> Transmit(std::string_view apdu) override {
      std::lock_guard<std::mutex> lock(t_->mu_);
      Slot& s = t_->slots_[reader_];
      if (s.card != card_) return absl::AbortedError("card: removed during the operation");
      if (s.pull_after_apdus > 0 && card_->apdus() >= s.pull_after_apdus) {
        s.card.reset();
        t_->changed_.notify_all();
        return absl::AbortedError("card: removed during the operation");
      }
      return card_->Process(apdu);
    }

   private:
    FakeTransport* t_;
    std::string reader_;
    std::shared_ptr<testing::MyNumberCard> card_;
  };

  template <class F>
  void Change(F f) {
    std::lock_guard<std::mutex> lock(mu_);
    f();
    changed_.notify_all();
  }

  std::vector<ReaderState> StatesLocked() const {
    std::vector<ReaderState> out;
    for (const auto& [name, slot] : slots_) {
      out.push_back({name, slot.card != nullptr, slot.generation});
    }
    return out;
  }

  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, Slot> slots_;
  uint64_t interrupts_ = 0;
};

}  // namespace kaigo::plugins::card

#endif  // KAIGO_PLUGINS_CARD_READER_PCSC_FAKE_TRANSPORT_H_
