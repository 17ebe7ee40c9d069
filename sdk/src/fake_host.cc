#include "kaigo/sdk/fake_host.h"

#include <chrono>

#include "google/protobuf/descriptor.h"
#include "kaigo/sdk/abi.h"
#include "kaigo/sdk/internal/host_side.h"

namespace kaigo::sdk::testing {

namespace {
FakeHost* Self(kaigo_host* host) { return reinterpret_cast<FakeHost*>(host); }
std::chrono::milliseconds ToChrono(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}
}  // namespace

class PendingCall::Sink : public host::CallSink {
 public:
  explicit Sink(PendingCall* call) : call_(call) {}
  bool OnWrite(std::string_view message) override {
    call_->AddMessage(message);
    return true;
  }
  void OnFinish(const absl::Status& status, std::string_view response) override {
    call_->SetFinished(status, response);
  }

 private:
  PendingCall* const call_;
};

PendingCall::PendingCall() : sink_(std::make_unique<Sink>(this)) {}

PendingCall::~PendingCall() {
  if (call_ != nullptr) host::Release(call_);
}

void PendingCall::AddMessage(std::string_view message) {
  std::lock_guard<std::mutex> lock(mu_);
  result_.messages.emplace_back(message);
  changed_.notify_all();
}

void PendingCall::SetFinished(const absl::Status& status, std::string_view response) {
  std::lock_guard<std::mutex> lock(mu_);
  result_.status = status;
  result_.response = std::string(response);
  finished_ = true;
  changed_.notify_all();
}

bool PendingCall::WaitForMessages(size_t count, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, ToChrono(timeout), [&] {
    return finished_ || result_.messages.size() >= count;
  }) && result_.messages.size() >= count;
}

bool PendingCall::WaitFinished(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, ToChrono(timeout), [&] { return finished_; });
}

void PendingCall::Cancel() { host::Cancel(call_); }

CallResult PendingCall::Result() {
  std::lock_guard<std::mutex> lock(mu_);
  return result_;
}

// The fake knows methods from the generated pool: tests link the protos they call.
bool IsServerStreaming(const std::string& path) {
  size_t slash = path.rfind('/');
  if (path.empty() || slash == 0 || slash == std::string::npos) return false;
  const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      path.substr(1, slash - 1));
  const auto* method = service ? service->FindMethodByName(path.substr(slash + 1)) : nullptr;
  return method != nullptr && method->server_streaming();
}

// The fake's kaigo_host_api table.
struct FakeHostApi {
  static host::Target TargetOf(const FakeHost& h) {
    return host::Target{h.api_, h.instance_, nullptr, false};
  }

  static void Log(kaigo_host* h, int32_t level, kaigo_str message) {
    static const char* kLevels[] = {"debug", "info", "warn", "error"};
    std::lock_guard<std::mutex> lock(Self(h)->mu_);
    Self(h)->logs_.push_back(std::string(level >= 0 && level <= 3 ? kLevels[level] : "?") + ": " +
                             std::string(FromStr(message)));
  }
  static int32_t StoreGet(kaigo_host* h, kaigo_str key, kaigo_sink value) {
    std::lock_guard<std::mutex> lock(Self(h)->mu_);
    auto it = Self(h)->store_.find(std::string(FromStr(key)));
    if (it == Self(h)->store_.end()) return KAIGO_CODE_NOT_FOUND;
    value.write(value.ctx, reinterpret_cast<const uint8_t*>(it->second.data()), it->second.size());
    return KAIGO_CODE_OK;
  }
  static int32_t StorePut(kaigo_host* h, kaigo_str key, kaigo_bytes value) {
    return StorePutIf(h, key, value, -1, nullptr);
  }
  static int32_t StoreDelete(kaigo_host* h, kaigo_str key) {
    std::lock_guard<std::mutex> lock(Self(h)->mu_);
    Self(h)->versions_.erase(std::string(FromStr(key)));
    return Self(h)->store_.erase(std::string(FromStr(key))) ? KAIGO_CODE_OK : KAIGO_CODE_NOT_FOUND;
  }
  static int32_t StoreGetVersioned(kaigo_host* h, kaigo_str key, kaigo_sink value,
                                   int64_t* version) {
    std::lock_guard<std::mutex> lock(Self(h)->mu_);
    std::string k(FromStr(key));
    auto it = Self(h)->store_.find(k);
    if (it == Self(h)->store_.end()) return KAIGO_CODE_NOT_FOUND;
    value.write(value.ctx, reinterpret_cast<const uint8_t*>(it->second.data()), it->second.size());
    if (version != nullptr) *version = Self(h)->versions_[k];
    return KAIGO_CODE_OK;
  }
  // expected_version -1 (the fake's own): write unconditionally, as store_put.
  static int32_t StorePutIf(kaigo_host* h, kaigo_str key, kaigo_bytes value,
                            int64_t expected_version, int64_t* new_version) {
    FakeHost* self = Self(h);
    std::lock_guard<std::mutex> lock(self->mu_);
    std::string k(FromStr(key));
    auto current = self->versions_.find(k);
    int64_t have = current == self->versions_.end() ? 0 : current->second;
    if (expected_version >= 0 && have != expected_version) return KAIGO_CODE_ABORTED;
    if (self->conflicts_ > 0 && expected_version >= 0) {
      --self->conflicts_;  // as if another writer had got there first
      if (self->store_.count(k) != 0) self->versions_[k] = ++self->last_version_;
      return KAIGO_CODE_ABORTED;
    }
    self->store_[k] = std::string(FromBytes(value));
    self->versions_[k] = ++self->last_version_;
    if (new_version != nullptr) *new_version = self->last_version_;
    return KAIGO_CODE_OK;
  }
  static int32_t StoreList(kaigo_host* h, kaigo_str prefix, void* ctx,
                           void (*each)(void*, kaigo_str, kaigo_bytes)) {
    std::map<std::string, std::string> copy;
    {
      std::lock_guard<std::mutex> lock(Self(h)->mu_);
      copy = Self(h)->store_;
    }
    std::string p(FromStr(prefix));
    for (auto it = copy.lower_bound(p); it != copy.end() && it->first.rfind(p, 0) == 0; ++it) {
      each(ctx, ToStr(it->first), ToBytes(it->second));
    }
    return KAIGO_CODE_OK;
  }
  static int32_t AuditAppend(kaigo_host* h, const kaigo_call* call,
                             const kaigo_audit_record* record) {
    std::lock_guard<std::mutex> lock(Self(h)->mu_);
    Self(h)->audits_.push_back(AuditEntry{call ? host::ContextOf(call).caller : "",
                                          std::string(FromStr(record->action)),
                                          std::string(FromStr(record->subject_ref)),
                                          record->outcome, std::string(FromStr(record->detail))});
    return KAIGO_CODE_OK;
  }
  static int32_t SecretGet(kaigo_host* h, kaigo_str name, kaigo_sink value) {
    std::lock_guard<std::mutex> lock(Self(h)->mu_);
    auto it = Self(h)->secrets_.find(std::string(FromStr(name)));
    if (it == Self(h)->secrets_.end()) return KAIGO_CODE_NOT_FOUND;
    value.write(value.ctx, reinterpret_cast<const uint8_t*>(it->second.data()), it->second.size());
    return KAIGO_CODE_OK;
  }
  static void MetricAdd(kaigo_host* h, kaigo_str name, double delta) {
    std::lock_guard<std::mutex> lock(Self(h)->mu_);
    Self(h)->metrics_[std::string(FromStr(name))] += delta;
  }

  // Outgoing calls answered by the fallback handler.
  struct FallbackSink {
    static kaigo_outgoing_call* Answer(const FakeHost::OutgoingHandler& fallback,
                                       std::string_view method, std::string_view request,
                                       kaigo_reply_handler handler) {
      absl::StatusOr<std::string> reply = fallback(method, request);
      if (reply.ok() && handler.on_message) handler.on_message(handler.ctx, ToBytes(*reply));
      return host::StartOutgoing(host::Target{}, reply.ok() ? absl::OkStatus() : reply.status(), {},
                                 {}, handler);
    }
  };

  static kaigo_outgoing_call* CallStart(kaigo_host* h, const kaigo_call* parent, kaigo_str method,
                                        kaigo_bytes request, kaigo_reply_handler handler) {
    FakeHost* self = Self(h);
    // What the engine lends an outgoing call, the fake lends too (CallContext::Child).
    host::CallContext context =
        CallContext::Child(parent != nullptr ? &host::ContextOf(parent) : nullptr,
                           std::string(FromStr(method)), self->office_, self->plugin_name_);
    FakeHost* other = self->route_to_;
    if (other != nullptr && other->instance_ != nullptr) {
      host::Target target = TargetOf(*other);
      target.server_streaming = IsServerStreaming(context.method);
      return host::StartOutgoing(std::move(target), absl::OkStatus(), std::move(context),
                                 FromBytes(request), handler);
    }
    if (self->fallback_) {
      return FallbackSink::Answer(self->fallback_, context.method, FromBytes(request), handler);
    }
    return host::StartOutgoing(host::Target{},
                               absl::UnimplementedError("no route for " + context.method), {}, {},
                               handler);
  }

  static int64_t NowUnixUs(kaigo_host* h) { return absl::ToUnixMicros(Self(h)->clock_.Now()); }

  static const kaigo_host_api* Table() {
    static const kaigo_host_api table{sizeof(kaigo_host_api),
                                      KAIGO_ABI_VERSION,
                                      &Log,
                                      &host::CallWrite,
                                      &host::CallFinish,
                                      &StoreGet,
                                      &StorePut,
                                      &StoreDelete,
                                      &StoreList,
                                      &AuditAppend,
                                      &SecretGet,
                                      &MetricAdd,
                                      &CallStart,
                                      &host::OutgoingCancel,
                                      &host::OutgoingRelease,
                                      &NowUnixUs,
                                      &StoreGetVersioned,
                                      &StorePutIf};
    return &table;
  }
};

FakeHost::FakeHost(std::string office, std::string plugin_name)
    : office_(std::move(office)), plugin_name_(std::move(plugin_name)) {}

FakeHost::~FakeHost() { Unload(); }

absl::Status FakeHost::Load(const kaigo_plugin_api* api, std::string_view config) {
  if (api == nullptr) return absl::InvalidArgumentError("no plugin table");
  api_ = api;
  std::string error;
  kaigo_instance_info info{sizeof(kaigo_instance_info), ToStr(office_), ToStr(plugin_name_)};
  int32_t code = api->create(FakeHostApi::Table(), reinterpret_cast<kaigo_host*>(this), &info,
                             ToBytes(config), &instance_, StringSink(&error));
  if (code != KAIGO_CODE_OK) {
    instance_ = nullptr;
    return FromKaigoCode(code, error);
  }
  return absl::OkStatus();
}

void FakeHost::Unload() {
  if (instance_ != nullptr) api_->destroy(instance_);
  instance_ = nullptr;
}

std::unique_ptr<PendingCall> FakeHost::Start(std::string_view method, std::string_view request,
                                             std::vector<std::string> roles) {
  auto pending = std::make_unique<PendingCall>();
  host::CallContext context;
  context.method = std::string(method);
  context.office = office_;
  context.caller = "test";
  context.request_id = "test-request";
  context.roles = std::move(roles);
  pending->call_ = host::StartCall(FakeHostApi::TargetOf(*this), std::move(context),
                                   pending->sink_.get(), request);
  return pending;
}

CallResult FakeHost::Call(std::string_view method, std::string_view request, absl::Duration timeout,
                          std::vector<std::string> roles) {
  auto pending = Start(method, request, std::move(roles));
  if (!pending->WaitFinished(timeout)) {
    pending->Cancel();
    pending->WaitFinished(absl::Seconds(5));
  }
  return pending->Result();
}

void FakeHost::SetSecret(std::string name, std::string value) {
  std::lock_guard<std::mutex> lock(mu_);
  secrets_[std::move(name)] = std::move(value);
}

std::map<std::string, std::string> FakeHost::Store() {
  std::lock_guard<std::mutex> lock(mu_);
  return store_;
}

std::vector<std::string> FakeHost::Logs() {
  std::lock_guard<std::mutex> lock(mu_);
  return logs_;
}

std::vector<AuditEntry> FakeHost::Audits() {
  std::lock_guard<std::mutex> lock(mu_);
  return audits_;
}

double FakeHost::Metric(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = metrics_.find(name);
  return it == metrics_.end() ? 0 : it->second;
}

}  // namespace kaigo::sdk::testing
