// kaigo-plugin-host — runs one plugin image for the engine in a process of its own
// (`isolation: process`, see plugin_process.h). It loads the image the engine names (after checking
// its SHA-256), creates the instances the engine asks for, and serves the plugin the ABI's host
// functions by asking the engine over the channel on descriptor 3 (wire.proto). It holds nothing
// of its own: when the channel ends, it ends.
//
// Usage (by the engine only): kaigo-plugin-host --image PATH --sha256 HEX --name NAME
#include <dlfcn.h>
#include <openssl/evp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/synchronization/mutex.h"
#include "engine/isolation/child_process.h"
#include "engine/isolation/frame_channel.h"
#include "kaigo/sdk/abi.h"
#include "kaigo/sdk/api_release.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/internal/host_side.h"
#include "kaigo/sdk/internal/manifest_check.h"
#include "kaigo/sdk/worker_pool.h"

namespace kaigo::engine::isolation {
namespace {

using sdk::FromBytes;
using sdk::FromStr;
using sdk::ToBytes;
using sdk::ToStr;

[[noreturn]] void Die(const std::string& message, int code = 2) {
  std::string line = "kaigo-plugin-host: " + message + "\n";
  ssize_t ignored = write(2, line.data(), line.size());
  (void)ignored;
  _exit(code);
}

void OutOfMemory() { Die("out of memory (the plugin's memory limit)", kOutOfMemoryExit); }

// Runs a plugin entry point; an exception out of it ends the process (see kPluginExceptionExit).
template <class F>
void Guarded(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    Die(std::string("the plugin let an exception escape: ") + e.what(), kPluginExceptionExit);
  } catch (...) {
    Die("the plugin let an exception escape", kPluginExceptionExit);
  }
}

std::string Sha256Hex(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  return absl::BytesToHexString(std::string(reinterpret_cast<char*>(digest), size));
}

// One instance the engine created here; its kaigo_host is this object.
struct ChildInstance {
  uint64_t id = 0;
  kaigo_instance* instance = nullptr;
  int calls = 0;  // unfinished calls: destroy waits for them
};

class Host;

// One call the engine bridges to the plugin. The creator's reference on the kaigo_call lasts as
// long as this object, so a cancel never races its release.
class ChildCall : public sdk::host::CallSink {
 public:
  ChildCall(Host* host, uint64_t id, ChildInstance* instance)
      : host_(host), id_(id), instance_(instance) {}
  ~ChildCall() override {
    if (handle_ != nullptr) sdk::host::Release(handle_);
  }
  bool OnWrite(std::string_view message) override;
  void OnFinish(const absl::Status& status, std::string_view response) override;

  Host* host_;
  const uint64_t id_;
  ChildInstance* const instance_;
  std::mutex mu;
  kaigo_call* handle_ = nullptr;
  bool cancel_requested = false;
};

// An outgoing call the plugin started; the engine runs it. Handed to the plugin as its
// kaigo_outgoing_call (never dereferenced as one).
struct ChildOutgoing {
  uint64_t id = 0;
  kaigo_reply_handler handler{};
  std::atomic<int> refs{2};  // the plugin's (until release) and ours (until finish)
  void Unref() {
    if (refs.fetch_sub(1) == 1) delete this;
  }
};

class Host {
 public:
  explicit Host(const kaigo_plugin_api* api) : api_(api) {}

  void Send(const Frame& frame) {
    std::lock_guard<std::mutex> lock(write_mu_);
    if (!WriteFrame(kOutChannelFd, frame).ok()) Die("the engine's channel is closed", 0);
  }

  HostReply Ask(HostRequest request) {
    Waiter waiter;
    uint64_t id;
    {
      std::lock_guard<std::mutex> lock(mu_);
      id = next_id_++;
      waiters_[id] = &waiter;
    }
    request.set_id(id);
    Frame frame;
    *frame.mutable_host_request() = std::move(request);
    Send(frame);
    std::unique_lock<std::mutex> lock(mu_);
    waiter.ready.wait(lock, [&] { return waiter.done; });
    return std::move(waiter.reply);
  }

  // Reads the replies channel on a thread of its own and the calls channel on this one. A call
  // starts on this thread (call_start must not block; one that does stalls only later starts,
  // until the engine kills this process as hung); replies never wait behind it.
  void Serve() {
    std::thread([this] { Read(kReplyChannelFd); }).detach();
    Read(kChannelFd);
  }

  void CallEnded(ChildCall* call) {
    std::lock_guard<std::mutex> lock(mu_);
    --call->instance_->calls;
    calls_.erase(call->id_);
    idle_.notify_all();
  }

  static const kaigo_host_api* Table();
  static Host* self;

 private:
  struct Waiter {
    std::condition_variable ready;
    bool done = false;
    HostReply reply;
  };

  [[noreturn]] void Read(int fd) {
    FrameReader reader(fd);
    for (;;) {
      Frame frame;
      absl::Status read = reader.Next(&frame);
      if (!read.ok()) Die("the engine's channel ended", 0);
      Dispatch(frame);
    }
  }

  void Dispatch(Frame& frame) {
    switch (frame.kind_case()) {
      case Frame::kCreate:
        work_.Submit([this, create = std::move(*frame.mutable_create())] {
          Guarded([&] { Create(create); });
        });
        return;
      case Frame::kDestroy:
        work_.Submit([this, id = frame.destroy().instance()] { Guarded([&] { Destroy(id); }); });
        return;
      case Frame::kCallStart: {
        std::shared_ptr<ChildCall> call;
        {
          std::lock_guard<std::mutex> lock(mu_);
          auto it = instances_.find(frame.call_start().instance());
          if (it == instances_.end() || calls_.count(frame.call_start().call()) > 0) break;
          call = std::make_shared<ChildCall>(this, frame.call_start().call(), it->second.get());
          call->cancel_requested = early_cancels_.erase(call->id_) > 0;
          calls_[call->id_] = call;
          ++it->second->calls;
        }
        Guarded([&] { StartCall(call, frame.call_start()); });
        return;
      }
      case Frame::kCallCancel: {
        std::shared_ptr<ChildCall> call;
        {
          std::lock_guard<std::mutex> lock(mu_);
          auto it = calls_.find(frame.call_cancel().call());
          if (it == calls_.end()) {
            // It may come before its start, which travels on the other channel.
            early_cancels_.insert(frame.call_cancel().call());
            return;
          }
          call = it->second;
        }
        work_.Submit([call] {
          kaigo_call* handle;
          {
            std::lock_guard<std::mutex> lock(call->mu);
            call->cancel_requested = true;
            handle = call->handle_;
          }
          if (handle != nullptr) Guarded([&] { sdk::host::Cancel(handle); });
        });
        return;
      }
      case Frame::kHostReply: {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = waiters_.find(frame.host_reply().id());
        if (it == waiters_.end()) return;
        it->second->reply = std::move(*frame.mutable_host_reply());
        it->second->done = true;
        it->second->ready.notify_all();
        waiters_.erase(it);
        return;
      }
      case Frame::kOutgoingMessage: {
        ChildOutgoing* out = FindOutgoing(frame.outgoing_message().id(), false);
        if (out != nullptr && out->handler.on_message != nullptr) {
          Guarded([&] {
            out->handler.on_message(out->handler.ctx, ToBytes(frame.outgoing_message().message()));
          });
        }
        return;
      }
      case Frame::kOutgoingFinish: {
        ChildOutgoing* out = FindOutgoing(frame.outgoing_finish().id(), true);
        if (out == nullptr) return;
        const auto& s = frame.outgoing_finish().status();
        kaigo_status status{s.code(), ToStr(s.message()), ToBytes(s.details())};
        Guarded([&] { out->handler.on_finish(out->handler.ctx, &status); });
        out->Unref();
        return;
      }
      default:
        return;
    }
    // A CallStart for an unknown instance or a repeated id: answer it so the engine's call ends.
    Frame finish;
    finish.mutable_call_finish()->set_call(frame.call_start().call());
    finish.mutable_call_finish()->mutable_status()->set_code(KAIGO_CODE_UNAVAILABLE);
    finish.mutable_call_finish()->mutable_status()->set_message("no such instance");
    Send(finish);
  }

  ChildOutgoing* FindOutgoing(uint64_t id, bool take) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = outgoing_.find(id);
    if (it == outgoing_.end()) return nullptr;
    ChildOutgoing* out = it->second;
    if (take) outgoing_.erase(it);
    return out;
  }

  void Create(const isolation::Create& create) {
    auto instance = std::make_unique<ChildInstance>();
    instance->id = create.instance();
    kaigo_instance_info info{sizeof(kaigo_instance_info), ToStr(create.office()),
                             ToStr(create.plugin_name())};
    std::string error;
    int32_t code =
        api_->create(Table(), reinterpret_cast<kaigo_host*>(instance.get()), &info,
                     ToBytes(create.settings()), &instance->instance, sdk::StringSink(&error));
    Frame frame;
    auto* created = frame.mutable_created();
    created->set_instance(create.instance());
    if (code == KAIGO_CODE_OK && instance->instance == nullptr) code = KAIGO_CODE_INTERNAL;
    created->mutable_status()->set_code(code);
    created->mutable_status()->set_message(error);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (code == KAIGO_CODE_OK) instances_[create.instance()] = std::move(instance);
    }
    Send(frame);
  }

  void Destroy(uint64_t id) {
    std::unique_ptr<ChildInstance> instance;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto it = instances_.find(id);
      if (it == instances_.end()) return;
      ChildInstance* waiting = it->second.get();
      idle_.wait(lock, [waiting] { return waiting->calls == 0; });
      instance = std::move(instances_[id]);
      instances_.erase(id);
    }
    api_->destroy(instance->instance);
  }

  void StartCall(const std::shared_ptr<ChildCall>& call, const isolation::CallStart& start) {
    sdk::CallContext context;
    context.method = start.method();
    context.office = start.office();
    context.caller = start.caller();
    context.request_id = start.request_id();
    context.roles.assign(start.roles().begin(), start.roles().end());
    context.deadline_unix_ms = start.deadline_unix_ms();
    context.user = start.user();
    context.bridged_call = start.call();
    sdk::host::Target target{api_, call->instance_->instance, nullptr, false};
    kaigo_call* handle =
        sdk::host::StartCall(target, std::move(context), call.get(), start.request());
    bool cancel;
    {
      std::lock_guard<std::mutex> lock(call->mu);
      call->handle_ = handle;
      cancel = call->cancel_requested;
    }
    if (cancel) sdk::host::Cancel(handle);
  }

  friend struct ChildHostApi;
  const kaigo_plugin_api* api_;
  sdk::WorkerPool work_{16};
  std::mutex write_mu_;
  std::mutex mu_;
  std::condition_variable idle_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Waiter*> waiters_;
  std::map<uint64_t, std::unique_ptr<ChildInstance>> instances_;
  std::map<uint64_t, std::shared_ptr<ChildCall>> calls_;
  std::map<uint64_t, ChildOutgoing*> outgoing_;
  std::set<uint64_t> early_cancels_;
};

Host* Host::self = nullptr;

bool ChildCall::OnWrite(std::string_view message) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (cancel_requested) return false;
  }
  Frame frame;
  frame.mutable_call_write()->set_call(id_);
  frame.mutable_call_write()->set_message(std::string(message));
  host_->Send(frame);
  return true;
}

void ChildCall::OnFinish(const absl::Status& status, std::string_view response) {
  Frame frame;
  auto* finish = frame.mutable_call_finish();
  finish->set_call(id_);
  finish->mutable_status()->set_code(static_cast<int32_t>(status.code()));
  finish->mutable_status()->set_message(std::string(status.message()));
  finish->mutable_status()->set_details(sdk::SerializedDetails(status));
  finish->set_response(std::string(response));
  host_->Send(frame);
  host_->CallEnded(this);  // may destroy this
}

uint64_t InstanceId(kaigo_host* host) { return reinterpret_cast<ChildInstance*>(host)->id; }

// The kaigo_host_api this process lends the plugin: each function asks the engine.
struct ChildHostApi {
  static HostRequest Request(kaigo_host* host, HostRequest::Op op, kaigo_str key = {}) {
    HostRequest request;
    request.set_instance(InstanceId(host));
    request.set_op(op);
    request.set_key(std::string(FromStr(key)));
    return request;
  }
  static void Log(kaigo_host* host, int32_t level, kaigo_str message) {
    Frame frame;
    frame.mutable_log()->set_instance(InstanceId(host));
    frame.mutable_log()->set_level(level);
    frame.mutable_log()->set_message(std::string(FromStr(message)));
    Host::self->Send(frame);
  }
  static int32_t Get(kaigo_host* host, HostRequest::Op op, kaigo_str key, kaigo_sink value,
                     int64_t* version = nullptr) {
    HostReply reply = Host::self->Ask(Request(host, op, key));
    if (reply.code() == KAIGO_CODE_OK) {
      value.write(value.ctx, reinterpret_cast<const uint8_t*>(reply.value().data()),
                  reply.value().size());
      if (version != nullptr) *version = reply.version();
    }
    return reply.code();
  }
  static int32_t StoreGet(kaigo_host* host, kaigo_str key, kaigo_sink value) {
    return Get(host, HostRequest::OP_STORE_GET, key, value);
  }
  static int32_t StorePut(kaigo_host* host, kaigo_str key, kaigo_bytes value) {
    HostRequest request = Request(host, HostRequest::OP_STORE_PUT, key);
    request.set_value(std::string(FromBytes(value)));
    return Host::self->Ask(std::move(request)).code();
  }
  static int32_t StoreGetVersioned(kaigo_host* host, kaigo_str key, kaigo_sink value,
                                   int64_t* version) {
    return Get(host, HostRequest::OP_STORE_GET_VERSIONED, key, value, version);
  }
  static int32_t StorePutIf(kaigo_host* host, kaigo_str key, kaigo_bytes value,
                            int64_t expected_version, int64_t* new_version) {
    HostRequest request = Request(host, HostRequest::OP_STORE_PUT_IF, key);
    request.set_value(std::string(FromBytes(value)));
    request.set_expected_version(expected_version);
    HostReply reply = Host::self->Ask(std::move(request));
    if (reply.code() == KAIGO_CODE_OK && new_version != nullptr) *new_version = reply.version();
    return reply.code();
  }
  static int32_t StoreDelete(kaigo_host* host, kaigo_str key) {
    return Host::self->Ask(Request(host, HostRequest::OP_STORE_DELETE, key)).code();
  }
  static int32_t StoreList(kaigo_host* host, kaigo_str prefix, void* ctx,
                           void (*each)(void*, kaigo_str, kaigo_bytes)) {
    HostReply reply = Host::self->Ask(Request(host, HostRequest::OP_STORE_LIST, prefix));
    for (const auto& entry : reply.entries()) each(ctx, ToStr(entry.key()), ToBytes(entry.value()));
    return reply.code();
  }
  static int32_t AuditAppend(kaigo_host* host, const kaigo_call* call,
                             const kaigo_audit_record* record) {
    HostRequest request = Request(host, HostRequest::OP_AUDIT_APPEND);
    if (call != nullptr) request.set_call(sdk::host::ContextOf(call).bridged_call);
    request.set_action(std::string(FromStr(record->action)));
    request.set_subject_ref(std::string(FromStr(record->subject_ref)));
    request.set_outcome(record->outcome);
    if (KAIGO_HAS_FIELD(record, kaigo_audit_record, detail)) {
      request.set_detail(std::string(FromStr(record->detail)));
    }
    return Host::self->Ask(std::move(request)).code();
  }
  static int32_t SecretGet(kaigo_host* host, kaigo_str name, kaigo_sink value) {
    return Get(host, HostRequest::OP_SECRET_GET, name, value);
  }
  static void MetricAdd(kaigo_host* host, kaigo_str name, double delta) {
    Frame frame;
    frame.mutable_metric()->set_instance(InstanceId(host));
    frame.mutable_metric()->set_name(std::string(FromStr(name)));
    frame.mutable_metric()->set_delta(delta);
    Host::self->Send(frame);
  }
  static kaigo_outgoing_call* CallStart(kaigo_host* host, const kaigo_call* parent,
                                        kaigo_str method, kaigo_bytes request,
                                        kaigo_reply_handler handler) {
    Host* self = Host::self;
    auto* out = new ChildOutgoing();
    out->handler = handler;
    Frame frame;
    auto* start = frame.mutable_outgoing_start();
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      out->id = self->next_id_++;
      self->outgoing_[out->id] = out;
    }
    start->set_id(out->id);
    start->set_instance(InstanceId(host));
    if (parent != nullptr) start->set_parent_call(sdk::host::ContextOf(parent).bridged_call);
    start->set_method(std::string(FromStr(method)));
    start->set_request(std::string(FromBytes(request)));
    self->Send(frame);
    return reinterpret_cast<kaigo_outgoing_call*>(out);
  }
  static void OutgoingCancel(kaigo_outgoing_call* call) {
    Frame frame;
    frame.mutable_outgoing_cancel()->set_id(reinterpret_cast<ChildOutgoing*>(call)->id);
    Host::self->Send(frame);
  }
  static void OutgoingRelease(kaigo_outgoing_call* call) {
    reinterpret_cast<ChildOutgoing*>(call)->Unref();
  }
  static int64_t NowUnixUs(kaigo_host* host) {
    return Host::self->Ask(Request(host, HostRequest::OP_NOW)).now_unix_us();
  }
};

const kaigo_host_api* Host::Table() {
  static const kaigo_host_api table{sizeof(kaigo_host_api),
                                    KAIGO_ABI_VERSION,
                                    &ChildHostApi::Log,
                                    &sdk::host::CallWrite,
                                    &sdk::host::CallFinish,
                                    &ChildHostApi::StoreGet,
                                    &ChildHostApi::StorePut,
                                    &ChildHostApi::StoreDelete,
                                    &ChildHostApi::StoreList,
                                    &ChildHostApi::AuditAppend,
                                    &ChildHostApi::SecretGet,
                                    &ChildHostApi::MetricAdd,
                                    &ChildHostApi::CallStart,
                                    &ChildHostApi::OutgoingCancel,
                                    &ChildHostApi::OutgoingRelease,
                                    &ChildHostApi::NowUnixUs,
                                    &ChildHostApi::StoreGetVersioned,
                                    &ChildHostApi::StorePutIf};
  return &table;
}

int Main(int argc, char** argv) {
  prctl(PR_SET_DUMPABLE, 0);  // no core dump, no ptrace: the process sees the plugin's secrets
  // As in the engine (main.cc): Debian's abseil would check lock order on every acquisition.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::set_new_handler(&OutOfMemory);
  std::string image, sha256, name;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--image") image = argv[i + 1];
    if (flag == "--sha256") sha256 = argv[i + 1];
    if (flag == "--name") name = argv[i + 1];
  }
  if (image.empty() || sha256.empty()) Die("usage: kaigo-plugin-host --image PATH --sha256 HEX");
  if (Sha256Hex(image) != sha256) Die(image + " is not the image the engine checked");
  void* library = dlopen(image.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) Die(std::string("cannot load the image: ") + dlerror());
  auto entry = reinterpret_cast<kaigo_plugin_entry_fn>(dlsym(library, KAIGO_PLUGIN_ENTRY_SYMBOL));
  const kaigo_plugin_api* api = entry != nullptr ? entry(KAIGO_ABI_VERSION) : nullptr;
  if (absl::Status table = sdk::internal::CheckPluginTable(api); !table.ok()) {
    Die(std::string(table.message()));
  }
  // The engine applies the manifest's other rules to what this reports (the same check).
  const sdk::internal::ImageManifest m = sdk::internal::ReadManifest(*api->manifest);
  if (!m.api_release.empty()) {
    absl::Status release = sdk::CheckManifestApiRelease(name, m.api_release, "this engine");
    if (!release.ok()) Die(std::string(release.message()), kApiReleaseExit);
  }
  // Never destroyed: a plugin that calls exit() runs static destructors on one of its threads.
  Host::self = new Host(api);
  Frame ready;
  Ready* r = ready.mutable_ready();
  r->set_plugin_name(m.name);
  r->set_version(m.version);
  r->set_vendor(m.vendor);
  r->set_status(m.status);
  r->set_security_posture(m.security_posture);
  for (const auto& service : m.services) r->add_services(service);
  r->set_file_descriptor_set(m.file_descriptor_set);
  r->set_config_type(m.config_type);
  for (const auto& call : m.calls) r->add_calls(call);
  r->set_sdk_version(m.sdk_version);
  r->set_api_release(m.api_release);
  Host::self->Send(ready);
  Host::self->Serve();
  return 0;
}

}  // namespace
}  // namespace kaigo::engine::isolation

int main(int argc, char** argv) { return kaigo::engine::isolation::Main(argc, argv); }
