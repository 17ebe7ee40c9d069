#include "card_reader.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "in_tree_manifest.h"
#include "kaigo/sdk/pagination.h"
#include "kaigo/sdk/response.h"
#include "kaigo/sdk/roles.h"
#include "kaigo/v1/card_reader.pb.h"
#include "mynumber_operations.h"
#include "pcsc_transport.h"

namespace kaigo::plugins::card {

namespace {

namespace v1 = kaigo::v1;
using kaigo::plugins::v1::CardReaderConfig;

constexpr char kService[] = "/kaigo.v1.CardReaderService/";

v1::Sex SexOf(const std::string& digit) {
  if (digit == "1") return v1::SEX_MALE;
  if (digit == "2") return v1::SEX_FEMALE;
  if (digit == "9") return v1::SEX_NOT_APPLICABLE;
  return v1::SEX_UNSPECIFIED;
}

class CardReader : public sdk::Instance {
 public:
  using Stream = sdk::ServerStream<v1::WatchReadersResponse>;

  CardReader(sdk::HostServices host, CardReaderConfig config,
             std::unique_ptr<CardTransport> transport)
      : Instance(std::move(host)), config_(std::move(config)), transport_(std::move(transport)) {
    for (int role : config_.my_number_roles()) {
      my_number_roles_.push_back(sdk::RoleName(static_cast<kaigo::options::v1::Role>(role)));
    }
    busy_wait_ = absl::Milliseconds(config_.busy_wait_ms() > 0 ? config_.busy_wait_ms() : 5000);
    BlockingUnary<v1::ListReadersRequest, v1::ListReadersResponse>(
        Method("ListReaders"),
        [this](const v1::ListReadersRequest& req, const sdk::CallBase&) { return List(req); });
    ServerStreaming<v1::WatchReadersRequest, v1::WatchReadersResponse>(
        Method("WatchReaders"), [this](const v1::WatchReadersRequest&,
                                       std::shared_ptr<Stream> call) { Watch(std::move(call)); });
    BlockingUnary<v1::ReadCardInfoRequest, v1::ReadCardInfoResponse>(
        Method("ReadCardInfo"),
        [this](const v1::ReadCardInfoRequest& req, const sdk::CallBase& call) {
          // Reading a card discloses its holder: recorded, and not given if it cannot be.
          return sdk::AnswerIn(
              this->host().Disclose(&call, Method("ReadCardInfo"), "card", ReadCardInfo(req, call),
                                    req.include_my_number() ? "with the My Number" : ""),
              &v1::ReadCardInfoResponse::mutable_card);
        });
    BlockingUnary<v1::AuthenticateHolderRequest, v1::AuthenticateHolderResponse>(
        Method("AuthenticateHolder"),
        [this](const v1::AuthenticateHolderRequest& req, const sdk::CallBase& call) {
          return sdk::AnswerIn(this->host().Disclose(&call, Method("AuthenticateHolder"), "card",
                                                     AuthenticateHolder(req)),
                               &v1::AuthenticateHolderResponse::mutable_authentication);
        });
  }

  ~CardReader() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    transport_->Interrupt();
    if (watcher_.joinable()) watcher_.join();
  }

 private:
  static std::string Method(const char* name) { return std::string(kService) + name; }

  v1::CardKind KindOf(const ReaderState& state) {
    if (!state.card_present) return v1::CARD_KIND_NONE;
    auto session = transport_->Open(state.name, absl::Now() + busy_wait_);
    if (!session.ok()) return v1::CARD_KIND_UNSPECIFIED;  // held elsewhere or pulled: unknown
    MyNumberOperations card(session->get());
    auto mine = card.IsMyNumberCard();
    if (!mine.ok()) return v1::CARD_KIND_UNSPECIFIED;
    return *mine ? v1::CARD_KIND_MY_NUMBER : v1::CARD_KIND_OTHER;
  }

  v1::Reader Describe(const ReaderState& state) {
    v1::Reader r;
    r.set_name(state.name);
    r.set_card_present(state.card_present);
    r.set_card_kind(KindOf(state));
    return r;
  }

  absl::StatusOr<v1::ListReadersResponse> List(const v1::ListReadersRequest& req) {
    auto readers = transport_->Readers();
    if (!readers.ok()) return readers.status();
    auto window = sdk::PageOf(req, readers->size());  // in PC/SC's order
    if (!window.ok()) return window.status();
    v1::ListReadersResponse response;
    for (size_t i = window->begin; i < window->end; ++i) {
      *response.add_readers() = Describe((*readers)[i]);
    }
    response.set_next_page_token(window->next_page_token);
    return response;
  }

  // The reader the request names, or the only one with a My Number card.
  absl::StatusOr<std::string> Choose(const std::string& requested) {
    auto readers = transport_->Readers();
    if (!readers.ok()) return readers.status();
    if (!requested.empty()) {
      for (const auto& r : *readers) {
        if (r.name == requested) {
          if (!r.card_present) return absl::NotFoundError("reader: no card in '" + requested + "'");
          return requested;
        }
      }
      return absl::NotFoundError("reader: no reader named '" + requested + "'");
    }
    std::vector<std::string> candidates;
    for (const auto& r : *readers) {
      if (r.card_present && KindOf(r) == v1::CARD_KIND_MY_NUMBER) candidates.push_back(r.name);
    }
    if (candidates.empty()) return absl::NotFoundError("reader: no My Number card in any reader");
    if (candidates.size() > 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("reader: ", candidates.size(), " readers hold a My Number card; name one"));
    }
    return candidates[0];
  }

  absl::StatusOr<v1::CardInfo> ReadCardInfo(const v1::ReadCardInfoRequest& req,
                                            const sdk::CallBase& call) {
    if (auto s = CheckFourDigitPin(req.pin()); !s.ok()) return s;
    if (req.include_my_number()) {
      bool allowed = false;
      for (const auto& role : my_number_roles_) allowed |= call.info().HasRole(role);
      if (!allowed) {
        return absl::PermissionDeniedError(
            "include_my_number: the caller's role may not read the My Number (settings "
            "my_number_roles)");
      }
    }
    auto reader = Choose(req.reader());
    if (!reader.ok()) return reader.status();
    auto session = transport_->Open(*reader, absl::Now() + busy_wait_);
    if (!session.ok()) return session.status();
    MyNumberOperations card(session->get());
    std::string number;
    auto four = card.ReadAttributes(req.pin(), req.include_my_number() ? &number : nullptr);
    if (!four.ok()) return four.status();
    v1::CardInfo info;
    info.set_reader(*reader);
    info.set_name(four->name);
    info.set_address(four->address);
    int y = 0, m = 0, d = 0;
    if (four->birth_date.size() == 8 &&
        sscanf(four->birth_date.c_str(), "%4d%2d%2d", &y, &m, &d) == 3) {
      info.mutable_birth_date()->set_year(y);
      info.mutable_birth_date()->set_month(m);
      info.mutable_birth_date()->set_day(d);
    } else {
      info.set_birth_date_text(four->birth_date);
    }
    info.set_sex(SexOf(four->sex));
    info.set_my_number(number);
    info.set_apdus(card.apdus());
    host().MetricAdd("card_apdus_total", card.apdus());
    return info;
  }

  absl::StatusOr<v1::HolderAuthentication> AuthenticateHolder(
      const v1::AuthenticateHolderRequest& req) {
    if (auto s = CheckFourDigitPin(req.pin()); !s.ok()) return s;
    auto reader = Choose(req.reader());
    if (!reader.ok()) return reader.status();
    auto session = transport_->Open(*reader, absl::Now() + busy_wait_);
    if (!session.ok()) return session.status();
    MyNumberOperations card(session->get());
    auto auth = card.Authenticate(req.pin(), req.challenge());
    if (!auth.ok()) return auth.status();
    v1::HolderAuthentication out;
    out.set_reader(*reader);
    out.set_signature(auth->signature);
    out.set_certificate(auth->certificate);
    out.set_apdus(card.apdus());
    host().MetricAdd("card_apdus_total", card.apdus());
    return out;
  }

  void Watch(std::shared_ptr<Stream> call) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      streams_.push_back(call);
      fresh_.push_back(call);
      if (!watcher_.joinable()) watcher_ = std::thread([this] { WatchLoop(); });
    }
    transport_->Interrupt();  // the watcher sends the newcomer the current readers
    call->OnCancel([this, raw = call.get()] {
      std::shared_ptr<Stream> gone;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto it = streams_.begin(); it != streams_.end(); ++it) {
          if (it->get() == raw) {
            gone = *it;
            streams_.erase(it);
            break;
          }
        }
      }
      if (gone) gone->Finish(absl::CancelledError("the watcher cancelled"));
    });
  }

  static void Event(std::vector<v1::WatchReadersResponse>* out, v1::ReaderEvent::Kind kind,
                    const v1::Reader& reader) {
    v1::WatchReadersResponse e;
    e.mutable_event()->set_kind(kind);
    *e.mutable_event()->mutable_reader() = reader;
    out->push_back(std::move(e));
  }

  // One thread: waits for reader changes and sends them to every stream; a new stream first gets
  // READER_ADDED (and CARD_INSERTED) for each reader as it is.
  void WatchLoop() {
    std::vector<ReaderState> known;
    std::map<std::string, v1::Reader> described;
    bool have_known = false;
    for (;;) {
      std::vector<std::shared_ptr<Stream>> streams, fresh;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) break;
        streams = streams_;
        fresh.swap(fresh_);
      }
      auto now =
          have_known ? transport_->AwaitChange(known, absl::Seconds(1)) : transport_->Readers();
      if (!now.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& s : streams_) s->Finish(now.status());
        streams_.clear();
        fresh_.clear();
        have_known = false;
        if (stopping_) break;
        continue;
      }
      std::vector<v1::WatchReadersResponse> changes;
      std::map<std::string, ReaderState> before;
      for (const auto& r : known) before[r.name] = r;
      std::map<std::string, v1::Reader> next;
      for (const auto& r : *now) {
        auto old = before.find(r.name);
        bool changed = old == before.end() || !(old->second == r) || !described.count(r.name);
        next[r.name] = changed ? Describe(r) : described[r.name];
        if (!have_known) continue;
        if (old == before.end()) {
          Event(&changes, v1::ReaderEvent::KIND_READER_ADDED, next[r.name]);
          if (r.card_present) Event(&changes, v1::ReaderEvent::KIND_CARD_INSERTED, next[r.name]);
          continue;
        }
        if (old->second.card_present &&
            (!r.card_present || old->second.card_generation != r.card_generation)) {
          v1::Reader gone = next[r.name];
          gone.set_card_present(false);
          gone.set_card_kind(v1::CARD_KIND_NONE);
          Event(&changes, v1::ReaderEvent::KIND_CARD_REMOVED, gone);
        }
        if (r.card_present &&
            (!old->second.card_present || old->second.card_generation != r.card_generation)) {
          Event(&changes, v1::ReaderEvent::KIND_CARD_INSERTED, next[r.name]);
        }
      }
      for (const auto& [name, state] : before) {
        if (!next.count(name)) {
          v1::Reader gone;
          gone.set_name(name);
          Event(&changes, v1::ReaderEvent::KIND_READER_REMOVED, gone);
        }
      }
      known = *now;
      described = next;
      have_known = true;
      std::vector<v1::WatchReadersResponse> snapshot;
      for (const auto& [name, reader] : described) {
        Event(&snapshot, v1::ReaderEvent::KIND_READER_ADDED, reader);
        if (reader.card_present()) Event(&snapshot, v1::ReaderEvent::KIND_CARD_INSERTED, reader);
      }
      for (auto& s : fresh) {
        for (const auto& e : snapshot) s->Write(e);
      }
      for (auto& s : streams) {
        if (std::find(fresh.begin(), fresh.end(), s) != fresh.end()) continue;
        for (const auto& e : changes) s->Write(e);
      }
    }
  }

  const CardReaderConfig config_;
  std::unique_ptr<CardTransport> transport_;
  std::vector<std::string> my_number_roles_;
  absl::Duration busy_wait_;
  std::mutex mu_;
  bool stopping_ = false;
  std::vector<std::shared_ptr<Stream>> streams_;
  std::vector<std::shared_ptr<Stream>> fresh_;
  std::thread watcher_;
};

}  // namespace

sdk::PluginDefinition DefineWith(
    std::function<std::unique_ptr<CardTransport>(const CardReaderConfig&)> transport) {
  sdk::PluginManifest m = InTreeManifest("card_reader_pcsc");
  m.security_posture =
      "Talks to card readers through the local PC/SC service; PINs go to the card only and are "
      "never logged or stored; the My Number is returned only to configured roles and never "
      "logged; every session ends with a card reset.";
  m.services = {"kaigo.v1.CardReaderService"};
  auto create = [transport](
                    sdk::HostServices host, const sdk::InstanceContext&,
                    CardReaderConfig config) -> absl::StatusOr<std::unique_ptr<sdk::Instance>> {
    if (config.busy_wait_ms() < 0) return absl::InvalidArgumentError("busy_wait_ms: 0 or more");
    return std::make_unique<CardReader>(std::move(host), config, transport(config));
  };
  return sdk::DefinePlugin<CardReaderConfig>(std::move(m), std::move(create));
}

sdk::PluginDefinition Define() {
  return DefineWith(
      [](const CardReaderConfig& config) { return NewPcscTransport(config.reader_prefix()); });
}

}  // namespace kaigo::plugins::card
