#include "engine/server/call_reactor.h"

#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace kaigo::engine {

namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

std::string Metadata(const grpc::ServerContextBase& context, const char* key) {
  const auto& md = context.client_metadata();
  auto it = md.find(key);
  return it == md.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

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

int64_t DeadlineMillis(const grpc::ServerContextBase& context) {
  auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline.time_since_epoch())
      .count();
}

}  // namespace

std::string CallerIdentity(const grpc::ServerContextBase& context) {
  auto auth = context.auth_context();
  if (auth != nullptr) {
    auto cn = auth->FindPropertyValues("x509_common_name");
    if (!cn.empty()) return std::string(cn.front().data(), cn.front().size());
  }
  return "anonymous";
}

CallReactor::CallReactor(grpc::GenericCallbackServerContext* context, Engine* engine)
    : context_(context), engine_(engine), start_(std::chrono::steady_clock::now()) {
  engine_->metrics().in_flight().fetch_add(1, std::memory_order_relaxed);
  auto table = engine_->table();
  if (table == nullptr) {
    Refuse(absl::UnavailableError("the engine is shutting down"));
    return;
  }
  call_context_.method = context->method();
  call_context_.office = Metadata(*context, "x-kaigo-office");
  call_context_.caller = CallerIdentity(*context);
  auto admitted = table->Admit(call_context_.method, call_context_.office, call_context_.caller);
  if (!admitted.ok()) {
    Refuse(admitted.status());
    return;
  }
  admission_ = *std::move(admitted);
  server_streaming_ = table->methods.at(call_context_.method).server_streaming;
  access_log_ = table->access_log;
  call_context_.roles = admission_.roles;
  call_context_.request_id = Metadata(*context, "x-request-id");
  if (call_context_.request_id.empty()) call_context_.request_id = NewRequestId();
  call_context_.deadline_unix_ms = DeadlineMillis(*context);
  StartRead(&request_);
}

void CallReactor::Refuse(const absl::Status& status) {
  engine_->metrics().CallRefused(static_cast<int>(status.code()));
  std::unique_lock<std::mutex> lock(mu_);
  FinishLocked(lock, ToGrpc(status));
}

void CallReactor::OnReadDone(bool ok) {
  if (!ok) {
    std::unique_lock<std::mutex> lock(mu_);
    FinishLocked(lock, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    "the call carried no request message"));
    return;
  }
  grpc::Slice slice;
  request_.DumpToSingleSlice(&slice);
  std::string_view bytes(reinterpret_cast<const char*>(slice.begin()), slice.size());
  refs_.fetch_add(1);  // the plugin may finish, and gRPC call OnDone, inside StartCall
  kaigo_call* call =
      sdk::host::StartCall(admission_.target, call_context_, this, bytes);
  bool cancel;
  {
    std::lock_guard<std::mutex> lock(mu_);
    call_ = call;
    cancel = cancelled_;
  }
  if (cancel) sdk::host::Cancel(call);
  Unref();
}

bool CallReactor::OnWrite(std::string_view message) {
  std::unique_lock<std::mutex> lock(mu_);
  if (finished_ || finish_pending_ || cancelled_ || !server_streaming_) return false;
  grpc::Slice slice(message.data(), message.size());
  writes_.emplace_back(&slice, 1);
  if (!writing_) {
    writing_ = true;
    grpc::ByteBuffer* next = &writes_.front();
    lock.unlock();
    StartWrite(next);
  }
  return true;
}

void CallReactor::OnWriteDone(bool ok) {
  std::unique_lock<std::mutex> lock(mu_);
  writes_.pop_front();
  if (!ok) {
    writes_.clear();  // the client has gone; OnCancel follows
  }
  if (!writes_.empty()) {
    grpc::ByteBuffer* next = &writes_.front();
    lock.unlock();
    StartWrite(next);
    return;
  }
  writing_ = false;
  if (finish_pending_) FinishLocked(lock, pending_status_);
}

void CallReactor::OnFinish(const absl::Status& status, std::string_view response) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - start_)
                    .count();
  if (admission_.metrics != nullptr) {
    admission_.metrics->Record(static_cast<int>(status.code()), micros);
  }
  if (access_log_ && engine_->logger().Enabled(LogLevel::kInfo)) {
    engine_->logger().Info("call", {{"request_id", call_context_.request_id},
                                    {"office", call_context_.office},
                                    {"caller", call_context_.caller},
                                    {"method", call_context_.method},
                                    {"code", absl::StatusCodeToString(status.code())},
                                    {"duration_us", std::to_string(micros)}});
  }
  std::unique_lock<std::mutex> lock(mu_);
  grpc::Status grpc_status = ToGrpc(status);
  if (status.ok() && !server_streaming_) {
    grpc::Slice slice(response.data(), response.size());
    writes_.emplace_back(&slice, 1);
    if (!writing_) {
      writing_ = true;
      finished_ = true;
      grpc::ByteBuffer* last = &writes_.front();
      lock.unlock();
      StartWriteAndFinish(last, grpc::WriteOptions(), grpc_status);  // last touch of `this`
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

void CallReactor::FinishLocked(std::unique_lock<std::mutex>& lock, const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  lock.unlock();
  Finish(status);  // OnDone may run at once on another thread: nothing may follow
}

void CallReactor::OnCancel() {
  kaigo_call* call;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    call = call_;
  }
  if (call != nullptr) sdk::host::Cancel(call);
}

void CallReactor::OnDone() { Unref(); }

void CallReactor::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (call_ != nullptr) sdk::host::Release(call_);
  engine_->metrics().in_flight().fetch_sub(1, std::memory_order_relaxed);
  delete this;
}

}  // namespace kaigo::engine
