#include "pcsc_transport.h"

#include <winscard.h>

#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace kaigo::plugins::card {

namespace {

constexpr char kPnp[] = "\\\\?PnP?\\Notification";

std::string Describe(LONG rv) {
  return absl::StrFormat("%s (0x%08X)", pcsc_stringify_error(rv), static_cast<uint32_t>(rv));
}

absl::Status FromPcsc(LONG rv, const std::string& what) {
  switch (rv) {
    case SCARD_S_SUCCESS:
      return absl::OkStatus();
    case SCARD_E_NO_SERVICE:
    case SCARD_E_SERVICE_STOPPED:
    case SCARD_E_NO_READERS_AVAILABLE:
      return absl::UnavailableError(what + ": the PC/SC service is not available: " + Describe(rv));
    case SCARD_E_NO_SMARTCARD:
    case SCARD_W_REMOVED_CARD:
      return absl::NotFoundError(what + ": no card in the reader");
    case SCARD_E_UNKNOWN_READER:
    case SCARD_E_READER_UNAVAILABLE:
      return absl::NotFoundError(what + ": no such reader");
    case SCARD_E_SHARING_VIOLATION:
      return absl::UnavailableError(what + ": the reader is held by another program");
    default:
      return absl::UnavailableError(what + ": " + Describe(rv));
  }
}

class Context {
 public:
  Context() { rv_ = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx_); }
  ~Context() {
    if (rv_ == SCARD_S_SUCCESS) SCardReleaseContext(ctx_);
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  absl::Status status() const { return FromPcsc(rv_, "PC/SC"); }
  SCARDCONTEXT get() const { return ctx_; }

 private:
  SCARDCONTEXT ctx_ = 0;
  LONG rv_ = SCARD_E_NO_SERVICE;
};

absl::StatusOr<std::vector<std::string>> ListNames(SCARDCONTEXT ctx, const std::string& prefix) {
  DWORD size = 0;
  LONG rv = SCardListReaders(ctx, nullptr, nullptr, &size);
  if (rv == SCARD_E_NO_READERS_AVAILABLE) return std::vector<std::string>{};
  if (rv != SCARD_S_SUCCESS) return FromPcsc(rv, "listing readers");
  std::string buffer(size, '\0');
  rv = SCardListReaders(ctx, nullptr, buffer.data(), &size);
  if (rv == SCARD_E_NO_READERS_AVAILABLE) return std::vector<std::string>{};
  if (rv != SCARD_S_SUCCESS) return FromPcsc(rv, "listing readers");
  std::vector<std::string> names;
  for (size_t at = 0; at < buffer.size() && buffer[at] != '\0';) {
    std::string name(buffer.c_str() + at);
    at += name.size() + 1;
    if (name.rfind(prefix, 0) == 0) names.push_back(std::move(name));
  }
  return names;
}

// Current states of `names`; the event counter in the high 16 bits of dwEventState counts
// insertions and removals.
absl::StatusOr<std::vector<ReaderState>> States(SCARDCONTEXT ctx,
                                                const std::vector<std::string>& names,
                                                std::vector<SCARD_READERSTATE>* raw) {
  raw->assign(names.size(), SCARD_READERSTATE{});
  for (size_t i = 0; i < names.size(); ++i) {
    (*raw)[i].szReader = names[i].c_str();
    (*raw)[i].dwCurrentState = SCARD_STATE_UNAWARE;
  }
  if (!names.empty()) {
    LONG rv = SCardGetStatusChange(ctx, 0, raw->data(), static_cast<DWORD>(raw->size()));
    if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) return FromPcsc(rv, "reader states");
  }
  std::vector<ReaderState> out;
  for (size_t i = 0; i < names.size(); ++i) {
    DWORD state = (*raw)[i].dwEventState;
    out.push_back({names[i], (state & SCARD_STATE_PRESENT) != 0,
                   static_cast<uint64_t>((state >> 16) & 0xFFFF)});
  }
  return out;
}

class PcscSession : public CardSession {
 public:
  PcscSession(std::unique_ptr<Context> context, SCARDHANDLE card, DWORD protocol)
      : context_(std::move(context)), card_(card), protocol_(protocol) {}
  ~PcscSession() override {
    SCardEndTransaction(card_, SCARD_LEAVE_CARD);
    // A reset clears what was verified; a card that is gone has nothing left to clear.
    SCardDisconnect(card_, removed_ ? SCARD_LEAVE_CARD : SCARD_RESET_CARD);
  }

  absl::StatusOr<std::string> Transmit(std::string_view apdu) override {
    const SCARD_IO_REQUEST* pci = protocol_ == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    std::string out(65538, '\0');
    DWORD size = static_cast<DWORD>(out.size());
    LONG rv = SCardTransmit(card_, pci, reinterpret_cast<const BYTE*>(apdu.data()),
                            static_cast<DWORD>(apdu.size()), nullptr,
                            reinterpret_cast<BYTE*>(out.data()), &size);
    // vpcd answers an APDU the card never answered with no bytes at all.
    if (rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NOT_TRANSACTED || rv == SCARD_W_RESET_CARD ||
        rv == SCARD_E_NO_SMARTCARD || (rv == SCARD_S_SUCCESS && size < 2)) {
      removed_ = true;
      return absl::AbortedError(
          "card: removed (or reset) during the operation; insert it and try again");
    }
    if (rv != SCARD_S_SUCCESS) return FromPcsc(rv, "card");
    out.resize(size);
    return out;
  }

 private:
  std::unique_ptr<Context> context_;
  SCARDHANDLE card_;
  DWORD protocol_;
  bool removed_ = false;
};

class PcscTransport : public CardTransport {
 public:
  explicit PcscTransport(std::string prefix) : prefix_(std::move(prefix)) {}

  absl::StatusOr<std::vector<ReaderState>> Readers() override {
    Context context;
    if (auto s = context.status(); !s.ok()) return s;
    auto names = ListNames(context.get(), prefix_);
    if (!names.ok()) return names.status();
    std::vector<SCARD_READERSTATE> raw;
    return States(context.get(), *names, &raw);
  }

  absl::StatusOr<std::vector<ReaderState>> AwaitChange(const std::vector<ReaderState>& known,
                                                       absl::Duration timeout) override {
    SCARDCONTEXT ctx;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!watch_) {
        watch_ = std::make_unique<Context>();
        if (auto s = watch_->status(); !s.ok()) {
          watch_.reset();
          return s;
        }
      }
      ctx = watch_->get();
    }
    auto names = ListNames(ctx, prefix_);
    if (!names.ok()) {
      Reset();
      return names.status();
    }
    std::vector<SCARD_READERSTATE> raw;
    auto now = States(ctx, *names, &raw);
    if (!now.ok()) {
      Reset();
      return now.status();
    }
    if (*now != known) return now;
    // Wait for a change of any reader's state, or of the reader list (the PnP pseudo-reader).
    for (auto& r : raw) r.dwCurrentState = r.dwEventState;
    SCARD_READERSTATE pnp{};
    pnp.szReader = kPnp;
    pnp.dwCurrentState = static_cast<DWORD>(names->size()) << 16;
    raw.push_back(pnp);
    LONG rv = SCardGetStatusChange(ctx, static_cast<DWORD>(absl::ToInt64Milliseconds(timeout)),
                                   raw.data(), static_cast<DWORD>(raw.size()));
    if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT && rv != SCARD_E_CANCELLED) {
      Reset();
      return FromPcsc(rv, "watching readers");
    }
    names = ListNames(ctx, prefix_);
    if (!names.ok()) return names.status();
    return States(ctx, *names, &raw);
  }

  void Interrupt() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (watch_) SCardCancel(watch_->get());
  }

  absl::StatusOr<std::unique_ptr<CardSession>> Open(const std::string& reader,
                                                    absl::Time deadline) override {
    auto context = std::make_unique<Context>();
    if (auto s = context->status(); !s.ok()) return s;
    for (;;) {
      SCARDHANDLE card = 0;
      DWORD protocol = 0;
      LONG rv = SCardConnect(context->get(), reader.c_str(), SCARD_SHARE_SHARED,
                             SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &protocol);
      if (rv == SCARD_S_SUCCESS) {
        rv = SCardBeginTransaction(card);
        if (rv == SCARD_S_SUCCESS) {
          return std::unique_ptr<CardSession>(new PcscSession(std::move(context), card, protocol));
        }
        SCardDisconnect(card, SCARD_LEAVE_CARD);
      }
      if (rv != SCARD_E_SHARING_VIOLATION) {
        return FromPcsc(rv, "reader '" + reader + "'");
      }
      if (absl::Now() + absl::Milliseconds(100) > deadline) {
        return absl::UnavailableError("reader '" + reader +
                                      "': held by another program until the deadline; close "
                                      "the other program or try again");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

 private:
  void Reset() {
    std::lock_guard<std::mutex> lock(mu_);
    watch_.reset();  // pcscd restarted: the next call starts afresh
  }

  const std::string prefix_;
  std::mutex mu_;
  std::unique_ptr<Context> watch_;
};

}  // namespace

std::unique_ptr<CardTransport> NewPcscTransport(std::string prefix) {
  return std::make_unique<PcscTransport>(std::move(prefix));
}

}  // namespace kaigo::plugins::card
