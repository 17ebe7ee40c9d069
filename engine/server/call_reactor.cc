#include "engine/server/call_reactor.h"

#include <grpcpp/impl/codegen/server_callback_handlers.h>
#include <grpcpp/impl/rpc_service_method.h>
#include <openssl/rand.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <map>
#include <thread>
#include <type_traits>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "kaigo/sdk/error_details.h"

namespace kaigo::engine {

namespace {

// What the details of one error may take in the response's trailers, where a client's default
// metadata limit (8 KiB) also holds the message and gRPC's own entries.
constexpr size_t kMaxDetailsBytes = 6 * 1024;

bool Fits(const google::rpc::Status& details) {
  return details.ByteSizeLong() + 128 <= kMaxDetailsBytes;
}

// Removes violations from the end of `list` (a PreconditionFailure's or a BadRequest's) packed in
// `any`, keeping the first, until `details` fits or only one is left; how many it removed.
template <class List, class Violations>
int TrimViolations(google::protobuf::Any* any, List list, Violations* (List::*violations)(),
                   google::rpc::Status* details) {
  int removed = 0;
  Violations* v = (list.*violations)();
  while (v->size() > 1 && !Fits(*details)) {
    size_t excess = details->ByteSizeLong() + 128 - kMaxDetailsBytes;
    for (size_t freed = 0; v->size() > 1 && freed < excess; ++removed) {
      freed += v->Get(v->size() - 1).ByteSizeLong() + 3;
      v->RemoveLast();
    }
    any->PackFrom(list);
  }
  return removed;
}

// The details a status carries, as grpc-status-details-bin: its own code and message (so the two
// never disagree), and as many of its details as fit — the longest list of violations cut first
// (its first ones kept), then whole details from the end — with an ErrorInfo DETAILS_TRIMMED that
// says how many violations and details were dropped.
std::string FittingDetails(const absl::Status& s) {
  std::string serialized = sdk::SerializedDetails(s);
  if (serialized.size() <= kMaxDetailsBytes) return serialized;
  google::rpc::Status details = sdk::StatusDetails(s);
  google::protobuf::Any* longest = nullptr;
  for (auto& any : *details.mutable_details()) {
    bool list = any.Is<google::rpc::PreconditionFailure>() || any.Is<google::rpc::BadRequest>();
    if (list && (longest == nullptr || any.ByteSizeLong() > longest->ByteSizeLong())) {
      longest = &any;
    }
  }
  int dropped_violations = 0;
  google::rpc::PreconditionFailure failure;
  google::rpc::BadRequest bad;
  if (longest != nullptr && longest->UnpackTo(&failure)) {
    dropped_violations = TrimViolations(
        longest, failure, &google::rpc::PreconditionFailure::mutable_violations, &details);
  } else if (longest != nullptr && longest->UnpackTo(&bad)) {
    dropped_violations =
        TrimViolations(longest, bad, &google::rpc::BadRequest::mutable_field_violations, &details);
  }
  int dropped = 0;
  while (details.details_size() > 0 && !Fits(details)) {
    details.mutable_details()->RemoveLast();
    ++dropped;
  }
  google::rpc::ErrorInfo info;
  info.set_reason("DETAILS_TRIMMED");
  info.set_domain(std::string(sdk::kErrorDomain));
  (*info.mutable_metadata())["dropped_details"] = std::to_string(dropped);
  (*info.mutable_metadata())["dropped_violations"] = std::to_string(dropped_violations);
  details.add_details()->PackFrom(info);
  return details.SerializeAsString();
}

// What a client should wait before it retries a call that failed for the moment, when the plugin
// or the engine part that refused it did not say.
constexpr absl::Duration kDefaultRetryDelay = absl::Seconds(1);

grpc::Status ToGrpc(const absl::Status& status) {
  absl::Status s = ForClient(status);
  auto code = static_cast<grpc::StatusCode>(s.code());
  std::string details = FittingDetails(s);
  if (details.empty()) return grpc::Status(code, std::string(s.message()));
  return grpc::Status(code, std::string(s.message()), std::move(details));
}

// gRPC's metadata, the peer's certificate from its auth context, and its deadline.
class GrpcCallHeaders : public CallHeaders {
 public:
  explicit GrpcCallHeaders(const grpc::ServerContextBase& context) : context_(context) {}
  std::string Value(const char* key) const override { return MetadataValue(context_, key); }
  PeerCertificate Peer() const override;
  int64_t DeadlineUnixMs() const override;

 private:
  const grpc::ServerContextBase& context_;
};

// Unique per process: a random prefix and a counter.
std::string NewRequestId() {
  static const std::string prefix = [] {
    unsigned char b[4];
    RAND_bytes(b, sizeof b);
    return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(b), sizeof b));
  }();
  static std::atomic<uint64_t> counter{0};
  return absl::StrCat(prefix, "-", counter.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace

absl::Status ForClient(absl::Status status) {
  google::rpc::RetryInfo retry;
  if ((status.code() == absl::StatusCode::kUnavailable ||
       status.code() == absl::StatusCode::kResourceExhausted) &&
      !sdk::FindDetail(status, &retry)) {
    return sdk::WithRetryDelay(std::move(status), kDefaultRetryDelay);
  }
  return status;
}

int64_t GrpcCallHeaders::DeadlineUnixMs() const {
  auto deadline = context_.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline.time_since_epoch()).count();
}

PeerCertificate GrpcCallHeaders::Peer() const {
  PeerCertificate peer;
  auto auth = context_.auth_context();
  if (auth != nullptr) {
    auto first = [&](const char* name) {
      auto values = auth->FindPropertyValues(name);
      return values.empty() ? std::string()
                            : std::string(values.front().data(), values.front().size());
    };
    peer.common_name = first("x509_common_name");
    peer.pem = first("x509_pem_cert");
    for (const auto& san : auth->FindPropertyValues("x509_subject_alternative_name")) {
      peer.subject_alt_names.emplace_back(san.data(), san.size());
    }
  }
  return peer;
}

namespace {

// Ends watch streams at their maximum age: one thread for the process, idle while none is due.
class AgeTimer {
 public:
  using Time = std::chrono::steady_clock::time_point;
  static AgeTimer& Get() {
    static AgeTimer* timer = new AgeTimer();  // lives for the process
    return *timer;
  }
  uint64_t Add(Time at, std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t id = ++next_id_;
    queue_.emplace(std::make_pair(at, id), std::move(fn));
    due_[id] = at;
    wake_.notify_one();
    return id;
  }
  // True when it had not fired yet (and now never will).
  bool Remove(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = due_.find(id);
    if (it == due_.end()) return false;
    queue_.erase(std::make_pair(it->second, id));
    due_.erase(it);
    return true;
  }

 private:
  AgeTimer() {
    std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      for (;;) {
        if (queue_.empty()) {
          wake_.wait(lock);
          continue;
        }
        auto next = queue_.begin();
        if (next->first.first > std::chrono::steady_clock::now()) {
          wake_.wait_until(lock, next->first.first);
          continue;
        }
        std::function<void()> fn = std::move(next->second);
        due_.erase(next->first.second);
        queue_.erase(next);
        lock.unlock();
        fn();
        lock.lock();
      }
    }).detach();
  }
  std::mutex mu_;
  std::condition_variable wake_;
  uint64_t next_id_ = 0;
  std::map<std::pair<Time, uint64_t>, std::function<void()>> queue_;
  std::map<uint64_t, Time> due_;
};

bool IsWatch(const std::string& method) {
  size_t slash = method.rfind('/');
  return slash != std::string::npos && method.compare(slash + 1, 5, "Watch") == 0;
}

grpc::ByteBuffer ToBuffer(std::string_view bytes) {
  grpc::Slice slice(bytes.data(), bytes.size());
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

std::string MetadataValue(const grpc::ServerContextBase& context, const char* key) {
  const auto& md = context.client_metadata();
  auto it = md.find(key);
  return it == md.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

absl::StatusOr<std::string> CallerIdentity(const RoutingTable& table, const PeerCertificate& peer) {
  return IdentifyCaller(
      peer, [&](const std::string& identity) { return table.callers.count(identity) > 0; },
      table.verification);
}

absl::StatusOr<std::string> CallerIdentity(const RoutingTable& table,
                                           const grpc::ServerContextBase& context) {
  return CallerIdentity(table, GrpcCallHeaders(context).Peer());
}

CallCore::CallCore(Engine* engine, const grpc::ServerContextBase& context, std::string method)
    : CallCore(engine, GrpcCallHeaders(context), std::move(method)) {}

CallCore::CallCore(Engine* engine, const CallHeaders& headers, std::string method)
    : engine_(engine), start_(std::chrono::steady_clock::now()) {
  engine_->metrics().in_flight().fetch_add(1, std::memory_order_relaxed);
  context_.method = std::move(method);
  auto table = engine_->table();
  if (table == nullptr) {
    admitted_ = absl::UnavailableError("the engine is shutting down");
  } else {
    context_.office = headers.Value("x-kaigo-office");
    auto caller = CallerIdentity(*table, headers.Peer());
    if (caller.ok()) context_.caller = *std::move(caller);
    CallerClaims claims{headers.Value("x-kaigo-role"), headers.Value("x-kaigo-on-behalf-of"),
                        headers.Value("x-kaigo-on-behalf-of-roles")};
    auto admitted = caller.ok()
                        ? table->Admit(context_.method, context_.office, context_.caller, claims)
                        : absl::StatusOr<Admission>(caller.status());
    if (admitted.ok()) {
      target_ = *std::move(admitted);
      server_streaming_ = target_.target.server_streaming;
      access_log_ = table->access_log;
      context_.roles = target_.roles;
      context_.caller = target_.caller;
      context_.user = headers.Value("x-kaigo-user");
      if (context_.user.size() > 128 ||
          std::any_of(context_.user.begin(), context_.user.end(),
                      [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
        admitted_ = sdk::WithFieldViolation(
            absl::InvalidArgumentError(
                "metadata x-kaigo-user: at most 128 bytes of text without control characters"),
            {"x-kaigo-user", "USER_HEADER",
             "at most 128 bytes of text without control characters"});
      }
      context_.request_id = headers.Value("x-request-id");
      if (context_.request_id.empty()) context_.request_id = NewRequestId();
      context_.deadline_unix_ms = headers.DeadlineUnixMs();
      if (admitted_.ok()) {
        admitted_ = engine_->limiter().Acquire(context_.office, context_.caller);
        limited_ = admitted_.ok();
      }
    } else {
      admitted_ = admitted.status();
    }
  }
  if (!admitted_.ok()) engine_->metrics().CallRefused(static_cast<int>(admitted_.code()));
}

CallCore::~CallCore() {
  if (call_ != nullptr) sdk::host::Release(call_);
  if (limited_) engine_->limiter().Release(context_.office, context_.caller);
  engine_->metrics().in_flight().fetch_sub(1, std::memory_order_relaxed);
}

void CallCore::Dispatch(grpc::ByteBuffer* request) {
  grpc::Slice slice;
  request->DumpToSingleSlice(&slice);  // a reference, unless the message came in pieces
  request->Clear();
  Dispatch(std::string_view(reinterpret_cast<const char*>(slice.begin()), slice.size()));
}

void CallCore::Dispatch(std::string_view bytes) {
  ArmAgeLimit();
  Ref();  // the plugin may finish, and gRPC call OnDone, inside StartCall
  kaigo_call* call = sdk::host::StartCall(target_.target, context_, this, bytes);
  bool cancel;
  {
    std::lock_guard<std::mutex> lock(mu_);
    call_ = call;
    cancel = cancelled_;
  }
  if (cancel) sdk::host::Cancel(call);
  Unref();
}

void CallCore::ArmAgeLimit() {
  if (!server_streaming_ || !IsWatch(context_.method)) return;
  Ref();  // the timer's, until it fires or DisarmAge takes it back
  auto age = std::chrono::seconds(engine_->limiter().limits().watch_max_age_seconds);
  age_timer_ = AgeTimer::Get().Add(std::chrono::steady_clock::now() + age, [this] {
    EndForAge();
    Unref();
  });
}

void CallCore::DisarmAge() {
  if (age_timer_ != 0 && AgeTimer::Get().Remove(age_timer_)) Unref();
}

void CallCore::CancelPluginCall() {
  kaigo_call* call;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    call = call_;
  }
  if (call != nullptr) sdk::host::Cancel(call);
}

void CallCore::Record(const absl::Status& status) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - start_)
                    .count();
  if (target_.metrics != nullptr) target_.metrics->Record(static_cast<int>(status.code()), micros);
  if (access_log_ && engine_->logger().Enabled(LogLevel::kInfo)) {
    engine_->logger().Info("call", {{"request_id", context_.request_id},
                                    {"office", context_.office},
                                    {"caller", context_.caller},
                                    {"method", context_.method},
                                    {"code", absl::StatusCodeToString(status.code())},
                                    {"duration_us", std::to_string(micros)}});
  }
}

void CallCore::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

// --- unary ---

UnaryCallReactor::UnaryCallReactor(Engine* engine, grpc::CallbackServerContext* context,
                                   std::string method, const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response)
    : CallCore(engine, *context, std::move(method)), response_(response) {
  if (!admission().ok()) {
    Finish(ToGrpc(admission()));
    return;
  }
  Dispatch(const_cast<grpc::ByteBuffer*>(request));  // see Dispatch
}

bool UnaryCallReactor::OnWrite(std::string_view) { return false; }

void UnaryCallReactor::OnFinish(const absl::Status& status, std::string_view response) {
  Record(status);
  if (status.ok()) *response_ = ToBuffer(response);
  Finish(ToGrpc(status));  // OnDone may run at once on another thread: nothing may follow
}

// --- streaming and generic ---

template <class Base>
StreamCallReactor<Base>::StreamCallReactor(Engine* engine, grpc::CallbackServerContext* context,
                                           std::string method, const grpc::ByteBuffer* request)
    : CallCore(engine, *context, std::move(method)) {
  if (!admission().ok()) {
    std::unique_lock<std::mutex> lock(mu_);
    FinishLocked(lock, ToGrpc(admission()));
    return;
  }
  if constexpr (std::is_same_v<Base, grpc::ServerGenericBidiReactor>) {
    this->StartRead(&request_);  // the request comes as the stream's first message
  } else {
    Dispatch(const_cast<grpc::ByteBuffer*>(request));  // see Dispatch
  }
}

template <class Base>
void StreamCallReactor<Base>::OnReadDone(bool ok) {
  if (!ok) {
    std::unique_lock<std::mutex> lock(mu_);
    FinishLocked(lock, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    "the call carried no request message"));
    return;
  }
  Dispatch(&request_);
}

template <class Base>
bool StreamCallReactor<Base>::OnWrite(std::string_view message) {
  std::unique_lock<std::mutex> lock(mu_);
  if (finished_ || finish_pending_ || cancelled_ || !server_streaming()) return false;
  int limit = engine_->limiter().limits().stream_queue_messages;
  if (writes_.size() >= static_cast<size_t>(limit)) {
    // A slow reader is not buffered for without end: the plugin is told to stop (false), the
    // caller gets what was on its way and then the reason.
    EndLocked(lock, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 absl::StrCat("the client reads the stream too slowly: ", limit,
                                              " messages were waiting for it "
                                              "(server.call_limits.stream_queue_messages)")));
    return false;
  }
  writes_.push_back(ToBuffer(message));
  if (!writing_) {
    writing_ = true;
    grpc::ByteBuffer* next = &writes_.front();
    lock.unlock();
    this->StartWrite(next);
  }
  return true;
}

template <class Base>
void StreamCallReactor<Base>::OnWriteDone(bool ok) {
  std::unique_lock<std::mutex> lock(mu_);
  writes_.pop_front();
  if (!ok) writes_.clear();  // the client has gone; OnCancel follows
  if (!writes_.empty()) {
    grpc::ByteBuffer* next = &writes_.front();
    lock.unlock();
    this->StartWrite(next);
    return;
  }
  writing_ = false;
  if (finish_pending_) FinishLocked(lock, pending_status_);
}

template <class Base>
void StreamCallReactor<Base>::OnFinish(const absl::Status& status, std::string_view response) {
  Record(status);
  std::unique_lock<std::mutex> lock(mu_);
  if (finish_pending_) return;  // ended already (slow reader, age): that reason stands
  grpc::Status grpc_status = ToGrpc(status);
  if (status.ok() && !server_streaming()) {  // a unary method through the generic service
    writes_.push_back(ToBuffer(response));
    if (!writing_) {
      writing_ = true;
      finished_ = true;
      grpc::ByteBuffer* last = &writes_.front();
      lock.unlock();
      this->StartWriteAndFinish(last, grpc::WriteOptions(), grpc_status);  // last touch of this
      return;
    }
  }
  if (writing_) {
    finish_pending_ = true;
    pending_status_ = grpc_status;
    return;
  }
  FinishLocked(lock, grpc_status);
}

template <class Base>
void StreamCallReactor<Base>::EndLocked(std::unique_lock<std::mutex>& lock,
                                        const grpc::Status& status) {
  if (writing_) {
    writes_.erase(writes_.begin() + 1, writes_.end());  // the first is being written
    finish_pending_ = true;
    pending_status_ = status;
    return;
  }
  writes_.clear();
  FinishLocked(lock, status);
}

template <class Base>
void StreamCallReactor<Base>::EndForAge() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (finished_ || finish_pending_) return;
    EndLocked(lock, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 absl::StrCat("the stream reached its maximum age of ",
                                              engine_->limiter().limits().watch_max_age_seconds,
                                              " s (server.call_limits.watch_max_age_seconds); "
                                              "reconnect")));
  }
  CancelPluginCall();
}

template <class Base>
void StreamCallReactor<Base>::FinishLocked(std::unique_lock<std::mutex>& lock,
                                           const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  lock.unlock();
  this->Finish(status);  // OnDone may run at once on another thread: nothing may follow
}

template class StreamCallReactor<grpc::ServerWriteReactor<grpc::ByteBuffer>>;
template class StreamCallReactor<grpc::ServerGenericBidiReactor>;

// --- registration ---

PluginMethodService::PluginMethodService(Engine* engine, const RoutingTable& table) {
  using grpc::internal::RpcMethod;
  std::map<std::string, bool> sorted;
  for (const auto& [path, route] : table.methods) sorted[path] = route.server_streaming;
  int index = 0;
  for (const auto& [path, streaming] : sorted) {
    names_.push_back(path);
    const std::string& name = names_.back();
    AddMethod(new grpc::internal::RpcServiceMethod(
        name.c_str(), streaming ? RpcMethod::SERVER_STREAMING : RpcMethod::NORMAL_RPC, nullptr));
    if (streaming) {
      MarkMethodRawCallback(
          index,
          new grpc::internal::CallbackServerStreamingHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
              [engine, name](grpc::CallbackServerContext* context,
                             const grpc::ByteBuffer* request) {
                return new StreamCallReactor<grpc::ServerWriteReactor<grpc::ByteBuffer>>(
                    engine, context, name, request);
              }));
    } else {
      MarkMethodRawCallback(
          index, new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
                     [engine, name](grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request, grpc::ByteBuffer* response) {
                       return new UnaryCallReactor(engine, context, name, request, response);
                     }));
    }
    ++index;
  }
}

}  // namespace kaigo::engine
