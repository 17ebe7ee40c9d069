#include "otp_relay.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "in_tree_manifest.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/pagination.h"
#include "kaigo/sdk/request_once.h"
#include "random_id.h"

namespace kaigo::plugins::otp_relay {

namespace {

constexpr char kPendingPrefix[] = "pending/";
constexpr char kAnswerPrefix[] = "answer/";
constexpr int kMaxTimeoutSeconds = 3600;

using google::protobuf::util::TimeUtil;

int64_t ExpiresAt(const kaigo::v1::PendingOtp& otp) { return otp.expire_time().seconds(); }

kaigo::v1::WatchPendingResponse EventOf(kaigo::v1::PendingOtpEvent::Kind kind,
                                        const kaigo::v1::PendingOtp& otp) {
  kaigo::v1::WatchPendingResponse out;
  out.mutable_event()->set_kind(kind);
  *out.mutable_event()->mutable_otp() = otp;
  return out;
}

// One thread per plugin image ticks every live instance; an engine may hold thousands.
class Ticker {
 public:
  static Ticker& Get() {
    static Ticker* ticker = new Ticker();  // never destroyed: the image is never unloaded
    return *ticker;
  }
  void Add(OtpRelay* r) {
    std::lock_guard<std::mutex> lock(mu_);
    relays_.insert(r);
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }
  // Returns once no Tick of `r` is running.
  void Remove(OtpRelay* r) {
    std::unique_lock<std::mutex> lock(mu_);
    relays_.erase(r);
    idle_.wait(lock, [&] { return ticking_ != r; });
  }

 private:
  void Run() {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      std::vector<OtpRelay*> relays;
      {
        std::lock_guard<std::mutex> lock(mu_);
        relays.assign(relays_.begin(), relays_.end());
      }
      for (OtpRelay* r : relays) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (relays_.count(r) == 0) continue;
          ticking_ = r;
        }
        r->Tick();
        std::lock_guard<std::mutex> lock(mu_);
        ticking_ = nullptr;
        idle_.notify_all();
      }
    }
  }
  std::mutex mu_;
  std::condition_variable idle_;
  std::set<OtpRelay*> relays_;
  OtpRelay* ticking_ = nullptr;
  std::thread thread_;
};

}  // namespace

OtpRelay::OtpRelay(sdk::HostServices host, kaigo::plugins::v1::OtpRelayConfig config)
    : Instance(std::move(host)), config_(std::move(config)) {
  Unary<kaigo::v1::RequestOtpRequest, kaigo::v1::RequestOtpResponse>(
      "/kaigo.v1.OtpService/RequestOtp",
      [this](const kaigo::v1::RequestOtpRequest& req, WaitingCall call) { RequestOtp(req, call); });
  BlockingUnary<kaigo::v1::ProvideOtpRequest, kaigo::v1::ProvideOtpResponse>(
      "/kaigo.v1.OtpService/ProvideOtp",
      [this](const kaigo::v1::ProvideOtpRequest& req, const sdk::CallBase&) {
        return sdk::RequestOnce<kaigo::v1::ProvideOtpResponse>(
            this->host(), "/kaigo.v1.OtpService/ProvideOtp", req, [&] { return ProvideOtp(req); });
      });
  BlockingUnary<kaigo::v1::ListPendingRequest, kaigo::v1::ListPendingResponse>(
      "/kaigo.v1.OtpService/ListPending",
      [this](const kaigo::v1::ListPendingRequest& req, const sdk::CallBase&) {
        return ListPending(req);
      });
  ServerStreaming<kaigo::v1::WatchPendingRequest, kaigo::v1::WatchPendingResponse>(
      "/kaigo.v1.OtpService/WatchPending",
      [this](const kaigo::v1::WatchPendingRequest&, Watcher watcher) { WatchPending(watcher); });
  Ticker::Get().Add(this);
}

OtpRelay::~OtpRelay() { Ticker::Get().Remove(this); }

void OtpRelay::RequestOtp(const kaigo::v1::RequestOtpRequest& request, WaitingCall call) {
  if (request.purpose() == kaigo::v1::OTP_PURPOSE_UNSPECIFIED ||
      !kaigo::v1::OtpPurpose_IsValid(request.purpose())) {
    call->Finish(
        sdk::InvalidField("purpose", "OTP_PURPOSE", "must be one of the OtpPurpose values"));
    return;
  }
  const int64_t asked = request.timeout().seconds();
  if (asked < 0 || asked > kMaxTimeoutSeconds || request.timeout().nanos() != 0) {
    call->Finish(sdk::InvalidField(
        "timeout", "TIMEOUT_RANGE",
        absl::StrCat("must be whole seconds from 0 (unset: the default) to ", kMaxTimeoutSeconds)));
    return;
  }
  int timeout = asked > 0 ? static_cast<int>(asked) : config_.default_timeout_seconds();
  if (timeout <= 0) timeout = 600;
  int max_pending = config_.max_pending() > 0 ? config_.max_pending() : 16;

  kaigo::v1::PendingOtp otp;
  otp.set_otp_id(RandomHex(12));
  otp.set_purpose(request.purpose());
  otp.set_recipient_hint(request.recipient_hint());
  const int64_t now = NowSeconds();
  *otp.mutable_request_time() = TimeUtil::SecondsToTimestamp(now);
  *otp.mutable_expire_time() = TimeUtil::SecondsToTimestamp(now + timeout);
  // The store blocks; the request is recorded off the RPC thread.
  Workers().Submit([this, otp, call, max_pending] {
    auto pending = LoadPending();
    if (!pending.ok()) {
      call->Finish(absl::UnavailableError("the pending list could not be read"));
      return;
    }
    if (static_cast<int>(pending->size()) >= max_pending) {
      call->Finish(absl::ResourceExhaustedError(
          absl::StrCat("this office already has ", pending->size(),
                       " one-time passwords pending; answer or let them expire first")));
      return;
    }
    absl::Status stored = host().StorePut(kPendingPrefix + otp.otp_id(), otp.SerializeAsString());
    if (!stored.ok()) {
      call->Finish(absl::UnavailableError("the request could not be recorded"));
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      waiting_[otp.otp_id()] = call;
    }
    host().Info(absl::StrCat("one-time password requested: ", otp.otp_id()));
    host().MetricAdd("otp_requested", 1);
    call->OnCancel([this, id = otp.otp_id()] { Withdraw(id); });
  });
}

void OtpRelay::Withdraw(const std::string& otp_id) {
  WaitingCall call;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = waiting_.find(otp_id);
    if (it == waiting_.end()) return;
    call = it->second;
    waiting_.erase(it);
  }
  // The cancel notification must not block: the store delete runs on the pool.
  Workers().Submit([this, otp_id] { Forget(otp_id); });
  call->Finish(absl::CancelledError("the requester cancelled"));
}

void OtpRelay::Forget(const std::string& otp_id) {
  absl::Status answer = host().StoreDelete(kAnswerPrefix + otp_id);
  absl::Status pending = host().StoreDelete(kPendingPrefix + otp_id);
  if (!answer.ok() || !pending.ok()) {
    host().Warn("one-time password " + otp_id + " could not be removed from the store; it expires");
  }
}

absl::StatusOr<kaigo::v1::ProvideOtpResponse> OtpRelay::ProvideOtp(
    const kaigo::v1::ProvideOtpRequest& request) {
  const std::string& code = request.code();
  bool digits = !code.empty() && std::all_of(code.begin(), code.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
  if (!digits || code.size() < 4 || code.size() > 8) {
    return sdk::InvalidField("code", "OTP_FORMAT", "must be 4 to 8 half-width digits",
                             "ワンタイムパスワードは半角数字4〜8桁です");
  }
  if (request.otp_id().empty()) {
    return sdk::InvalidField("otp_id", "REQUIRED", "must be set");
  }
  auto stored = host().StoreGet(kPendingPrefix + request.otp_id());
  if (!stored.ok()) {
    return absl::NotFoundError("otp_id: no pending one-time password " + request.otp_id() +
                               " (answered, expired or withdrawn)");
  }
  kaigo::v1::PendingOtp otp;
  otp.ParseFromString(*stored);
  if (ExpiresAt(otp) <= NowSeconds()) {
    return absl::DeadlineExceededError("one-time password " + request.otp_id() + " has expired");
  }
  // The first answer stands: a second operator's (here or on another engine) is refused, never
  // written over the one the requester may already have taken.
  auto answered = host().StorePutIf(kAnswerPrefix + request.otp_id(), code, 0);
  if (absl::IsAborted(answered.status())) {
    return absl::AlreadyExistsError("otp_id: one-time password " + request.otp_id() +
                                    " has already been answered");
  }
  if (!answered.ok()) return absl::UnavailableError("the answer could not be recorded");
  host().MetricAdd("otp_provided", 1);
  return kaigo::v1::ProvideOtpResponse();
}

absl::StatusOr<std::vector<kaigo::v1::PendingOtp>> OtpRelay::LoadPending() const {
  auto entries = host().StoreList(kPendingPrefix);
  if (!entries.ok()) return entries.status();
  std::vector<kaigo::v1::PendingOtp> out;
  for (const auto& [key, value] : *entries) {
    kaigo::v1::PendingOtp otp;
    if (otp.ParseFromString(value)) out.push_back(std::move(otp));
  }
  return out;
}

absl::StatusOr<kaigo::v1::ListPendingResponse> OtpRelay::ListPending(
    const kaigo::v1::ListPendingRequest& request) {
  auto pending = LoadPending();
  if (!pending.ok()) return absl::UnavailableError("the pending list could not be read");
  int64_t now = NowSeconds();
  std::vector<kaigo::v1::PendingOtp> live;
  for (auto& otp : *pending) {
    if (ExpiresAt(otp) > now) live.push_back(std::move(otp));
  }
  auto window = sdk::PageOf(request, live.size());  // in the store's key order
  if (!window.ok()) return window.status();
  kaigo::v1::ListPendingResponse response;
  for (size_t i = window->begin; i < window->end; ++i) *response.add_pending() = live[i];
  response.set_next_page_token(window->next_page_token);
  return response;
}

void OtpRelay::WatchPending(Watcher watcher) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    watchers_.push_back(watcher);
  }
  // The snapshot is read off the RPC thread; a change racing it may arrive twice as ADDED.
  Workers().Submit([this, watcher] {
    auto pending = LoadPending();
    if (!pending.ok()) return;
    int64_t now = NowSeconds();
    for (const auto& otp : *pending) {
      if (ExpiresAt(otp) <= now) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_[otp.otp_id()] = otp;
      }
      watcher->Write(EventOf(kaigo::v1::PendingOtpEvent::KIND_ADDED, otp));
    }
  });
  watcher->OnCancel([this, raw = watcher.get()] {
    Watcher w;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = std::find_if(watchers_.begin(), watchers_.end(),
                             [raw](const Watcher& x) { return x.get() == raw; });
      if (it == watchers_.end()) return;
      w = *it;
      watchers_.erase(it);
    }
    w->Finish(absl::CancelledError("the watcher cancelled"));
  });
}

void OtpRelay::Broadcast(kaigo::v1::PendingOtpEvent::Kind kind, const kaigo::v1::PendingOtp& otp) {
  const kaigo::v1::WatchPendingResponse event = EventOf(kind, otp);
  std::vector<Watcher> watchers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    watchers = watchers_;
  }
  for (auto& w : watchers) w->Write(event);
}

void OtpRelay::Tick() {
  std::vector<std::string> waiting_ids;
  std::vector<Watcher> new_watchers;
  bool watched;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, call] : waiting_) waiting_ids.push_back(id);
    watched = !watchers_.empty();
  }
  if (waiting_ids.empty() && !watched) return;
  int64_t now = NowSeconds();

  // Answers and expiries of this instance's waiting requests.
  std::set<std::string> answered_now;
  for (const auto& id : waiting_ids) {
    auto answer = host().StoreGet(kAnswerPrefix + id);
    auto pending = host().StoreGet(kPendingPrefix + id);
    kaigo::v1::PendingOtp otp;
    if (pending.ok()) otp.ParseFromString(*pending);
    bool expired = pending.ok() && ExpiresAt(otp) <= now;
    if (!answer.ok() && !expired) continue;
    WaitingCall call;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = waiting_.find(id);
      if (it == waiting_.end()) continue;
      call = it->second;
      waiting_.erase(it);
    }
    Forget(id);
    if (answer.ok()) {
      answered_now.insert(id);
      kaigo::v1::RequestOtpResponse response;
      response.set_code(*answer);
      response.set_otp_id(id);
      call->Finish(response);
    } else {
      host().MetricAdd("otp_expired", 1);
      call->Finish(absl::DeadlineExceededError(
          "no one-time password was provided before the request expired"));
    }
  }
  if (!watched) return;

  // Watchers see the store's pending list as changes since the last tick.
  auto pending = LoadPending();
  if (!pending.ok()) return;
  std::map<std::string, kaigo::v1::PendingOtp> current;
  for (auto& otp : *pending) {
    if (ExpiresAt(otp) > now) current[otp.otp_id()] = otp;
  }
  std::map<std::string, kaigo::v1::PendingOtp> previous;
  {
    std::lock_guard<std::mutex> lock(mu_);
    previous.swap(seen_);
    seen_ = current;
  }
  for (const auto& [id, otp] : current) {
    if (previous.count(id) == 0) Broadcast(kaigo::v1::PendingOtpEvent::KIND_ADDED, otp);
  }
  for (const auto& [id, otp] : previous) {
    if (current.count(id) != 0) continue;
    bool answered = answered_now.count(id) != 0 || host().StoreGet(kAnswerPrefix + id).ok();
    auto kind = ExpiresAt(otp) <= now ? kaigo::v1::PendingOtpEvent::KIND_EXPIRED
                : answered            ? kaigo::v1::PendingOtpEvent::KIND_ANSWERED
                                      : kaigo::v1::PendingOtpEvent::KIND_WITHDRAWN;
    Broadcast(kind, otp);
  }
}

sdk::PluginDefinition Define() {
  sdk::PluginManifest m = InTreeManifest("otp_relay");
  m.security_posture =
      "Trusts the office's operators (any caller allowed for the office may answer). Talks to "
      "nothing outside the host. Codes are kept in the host store until delivered.";
  m.services = {"kaigo.v1.OtpService"};
  auto create = [](sdk::HostServices host, const sdk::InstanceContext&,
                   kaigo::plugins::v1::OtpRelayConfig config)
      -> absl::StatusOr<std::unique_ptr<sdk::Instance>> {
    if (config.default_timeout_seconds() < 0 || config.default_timeout_seconds() > 3600) {
      return absl::InvalidArgumentError("default_timeout_seconds: must be 0 to 3600");
    }
    if (config.max_pending() < 0) return absl::InvalidArgumentError("max_pending: must be >= 0");
    return std::make_unique<OtpRelay>(std::move(host), std::move(config));
  };
  return sdk::DefinePlugin<kaigo::plugins::v1::OtpRelayConfig>(std::move(m), std::move(create));
}

}  // namespace kaigo::plugins::otp_relay
