#include "engine/isolation/plugin_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "kaigo/sdk/abi.h"
#include "kaigo/sdk/error_details.h"

namespace kaigo::engine::isolation {

using sdk::FromBytes;
using sdk::ToBytes;
using sdk::ToStr;

namespace {

// Frames that carry a new call's request may be refused beyond this; replies never are.
constexpr size_t kMaxQueuedBytes = 256u << 20;
constexpr size_t kMaxStatusMessage = 2048;
constexpr size_t kMaxLogMessage = 8192;
constexpr int kBreakerFailures = 3;

std::string Text(const std::string& bytes, size_t max) {
  return bytes.size() <= max ? bytes : bytes.substr(0, max) + "…";
}

}  // namespace

struct PluginProcess::Instance {
  PluginProcess* process = nullptr;
  uint64_t id = 0;
  kaigo_host* host = nullptr;
  std::string office;
  std::string settings;
  std::set<std::string> secrets;
  enum class State { kCreating, kReady, kFailed } state = State::kCreating;
  std::string error;
  int busy = 0;  // host services being served with `host`
  bool destroyed = false;
};

struct PluginProcess::InFlight {
  uint64_t id = 0;
  kaigo_call* call = nullptr;  // valid until FinishOnce finishes it
  bool trial = false;
  std::atomic<bool> told_to_stop{false};  // a cancel was sent after a refused write
  std::mutex mu;
  bool done = false;
};

struct PluginProcess::Outgoing {
  PluginProcess* process = nullptr;
  uint64_t id = 0;
  std::shared_ptr<FrameSender> sender;  // the child that started it
  kaigo_outgoing_call* handle = nullptr;
  bool finished = false;
};

// The kaigo_plugin_api the engine calls an isolated instance through.
struct ProxyApi {
  using Instance = PluginProcess::Instance;
  static void CallStart(kaigo_instance* instance, kaigo_call* call, const kaigo_call_info* info,
                        kaigo_bytes request, void** call_ctx) {
    auto* self = reinterpret_cast<Instance*>(instance);
    self->process->StartCall(self, call, info, request, call_ctx);
  }
  static void CallCancel(kaigo_instance* instance, kaigo_call*, void* call_ctx) {
    reinterpret_cast<Instance*>(instance)->process->CancelCall(
        static_cast<uint64_t>(reinterpret_cast<uintptr_t>(call_ctx)));
  }
  static void OnMessage(void* ctx, kaigo_bytes message) {
    auto* out = static_cast<PluginProcess::Outgoing*>(ctx);
    Frame frame;
    frame.mutable_outgoing_message()->set_id(out->id);
    frame.mutable_outgoing_message()->set_message(std::string(FromBytes(message)));
    out->sender->Send(frame);
  }
  static void OnFinish(void* ctx, const kaigo_status* status) {
    auto* out = static_cast<PluginProcess::Outgoing*>(ctx);
    Frame frame;
    auto* finish = frame.mutable_outgoing_finish();
    finish->set_id(out->id);
    finish->mutable_status()->set_code(status->code);
    finish->mutable_status()->set_message(std::string(sdk::FromStr(status->message)));
    finish->mutable_status()->set_details(std::string(sdk::FromBytes(status->details)));
    out->sender->Send(frame);
    PluginProcess* process = out->process;
    std::shared_ptr<PluginProcess::Outgoing> keep;
    std::lock_guard<std::mutex> lock(process->mu_);
    auto it = process->outgoing_.find(out->id);
    if (it != process->outgoing_.end() && it->second.get() == out) {
      keep = std::move(it->second);
      process->outgoing_.erase(it);
    }
    out->finished = true;
    if (out->handle != nullptr) {
      process->to_release_.push_back(out->handle);
      out->handle = nullptr;
    }
    process->changed_.notify_all();
  }
  static const kaigo_plugin_api* Table() {
    static const kaigo_plugin_api table{sizeof(kaigo_plugin_api),
                                        KAIGO_ABI_VERSION,
                                        nullptr,
                                        nullptr,
                                        nullptr,
                                        &CallStart,
                                        &CallCancel};
    return &table;
  }
};

PluginProcess::PluginProcess(ProcessOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::shared_ptr<PluginProcess>> PluginProcess::Start(ProcessOptions options) {
  std::shared_ptr<PluginProcess> process(new PluginProcess(std::move(options)));
  PluginProcess* p = process.get();
  p->supervisor_ = std::thread([p] { p->Supervise(); });
  std::unique_lock<std::mutex> lock(p->mu_);
  bool up = p->changed_.wait_for(lock, p->options_.start_timeout,
                                 [p] { return p->up_ || p->restarts_ > 0; });
  if (!up || !p->up_) {
    std::string why = p->last_exit_.empty() ? "it did not start in time" : p->last_exit_;
    lock.unlock();
    return absl::FailedPreconditionError("plugin " + p->options_.plugin_name +
                                         " could not be started in a process of its own: " + why);
  }
  return process;
}

PluginProcess::~PluginProcess() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (pid_ > 0) kill(pid_, SIGKILL);
    changed_.notify_all();
  }
  if (supervisor_.joinable()) supervisor_.join();
  // The outgoing calls were cancelled when the child ended; their finishes come on host threads.
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_for(lock, std::chrono::seconds(10), [this] { return outgoing_.empty(); });
  std::vector<kaigo_outgoing_call*> release = std::move(to_release_);
  lock.unlock();
  for (auto* handle : release) options_.host_api->outgoing_release(handle);
}

void PluginProcess::Supervise() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    std::vector<std::string> args{"--image", options_.image_path, "--sha256", options_.image_sha256,
                                  "--name",  options_.plugin_name};
    auto child = SpawnChild(options_.host_program, args, options_.limits);
    std::string how;
    if (!child.ok()) {
      how = "could not be started: " + std::string(child.status().message());
    } else {
      {
        std::lock_guard<std::mutex> lock(mu_);
        pid_ = child->pid;
        ++generation_;
        sender_ = std::make_shared<FrameSender>(child->fd, kMaxQueuedBytes);
        reply_sender_ = std::make_shared<FrameSender>(child->reply_fd, kMaxQueuedBytes);
      }
      how = ReadUntilEnd(child->out_fd, child->pid);
      std::shared_ptr<FrameSender> ended, ended_replies;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ended = std::move(sender_);
        ended_replies = std::move(reply_sender_);
        pid_ = 0;
      }
      // Joins their threads; outgoing calls may still hold the replies', writing nowhere.
      ended.reset();
      ended_replies.reset();
      close(child->fd);
      close(child->reply_fd);
      close(child->out_fd);
    }
    std::chrono::milliseconds delay = OnChildEnded(how);
    std::unique_lock<std::mutex> lock(mu_);
    if (changed_.wait_for(lock, delay, [this] { return stopping_; })) break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  state_ = "stopped";
  changed_.notify_all();
}

std::string PluginProcess::ReadUntilEnd(int fd, pid_t pid) {
  auto started = std::chrono::steady_clock::now();
  auto checked = started;
  std::string forced;
  FrameReader reader(fd, 250);
  for (;;) {
    Frame frame;
    absl::Status read = reader.Next(&frame);
    if (read.ok()) {
      Dispatch(frame);
    } else if (read.code() != absl::StatusCode::kDeadlineExceeded) {
      if (read.code() == absl::StatusCode::kDataLoss) {
        forced = "broke the channel's protocol (" + std::string(read.message()) + ")";
      }
      break;
    }
    // Housekeeping a few times a second, not after every frame.
    auto now = std::chrono::steady_clock::now();
    if (read.ok() && now - checked < std::chrono::milliseconds(100)) continue;
    checked = now;
    ReleaseFinishedOutgoing();
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      forced = "stopped with the engine";
      break;
    }
    if (!up_ && now - started > options_.start_timeout) {
      forced =
          "did not start within " + std::to_string(options_.start_timeout.count() / 1000) + " s";
      break;
    }
    bool hung = std::any_of(hang_watch_.begin(), hang_watch_.end(),
                            [&](const auto& watch) { return watch.second < now; });
    if (hung) {
      forced = "hung (a call was still running " +
               std::to_string(options_.hang_grace.count() / 1000) + " s after its cancel)";
      break;
    }
  }
  if (!forced.empty()) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return forced.empty() ? DescribeExit(status) : forced;
}

std::chrono::milliseconds PluginProcess::OnChildEnded(const std::string& how) {
  std::vector<std::shared_ptr<InFlight>> failed;
  std::vector<kaigo_outgoing_call*> cancel;
  int failures;
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping = stopping_;
    up_ = false;
    last_exit_ = how;
    failures = ++failures_;
    if (!stopping) ++restarts_;
    state_ = failures >= kBreakerFailures ? "failing" : "restarting";
    trial_in_flight_ = false;
    for (auto& [id, call] : calls_) failed.push_back(std::move(call));
    calls_.clear();
    hang_watch_.clear();
    for (auto& [id, out] : outgoing_) {
      if (out->handle != nullptr) cancel.push_back(out->handle);
    }
    for (auto& [id, instance] : instances_) instance->state = Instance::State::kCreating;
    changed_.notify_all();
  }
  absl::Status status =
      absl::UnavailableError("plugin " + options_.plugin_name + " stopped (" + how + ")" +
                             (stopping ? "" : "; it is being restarted, try again shortly"));
  for (auto& call : failed) FinishOnce(*call, status, {});
  // Only this thread releases outgoing handles, so they stay valid while it cancels them.
  for (auto* handle : cancel) options_.host_api->outgoing_cancel(handle);
  if (!stopping && options_.on_exit) options_.on_exit(how);
  if (failures <= 1) return std::chrono::milliseconds(0);
  int doublings = std::min(failures - 2, 6);
  return std::min(std::chrono::milliseconds(500) * (1 << doublings),
                  std::chrono::milliseconds(30000));
}

void PluginProcess::SendCreate(uint64_t id, const Instance& instance) {
  Frame frame;
  auto* create = frame.mutable_create();
  create->set_instance(id);
  create->set_office(instance.office);
  create->set_plugin_name(options_.plugin_name);
  create->set_settings(instance.settings);
  if (sender_ != nullptr) sender_->Send(frame);
}

void PluginProcess::Dispatch(Frame& frame) {
  switch (frame.kind_case()) {
    case Frame::kReady:
      return OnReady(frame.ready());
    case Frame::kCreated:
      return OnCreated(frame.created());
    case Frame::kCallWrite:
      return OnCallWrite(frame.call_write());
    case Frame::kCallFinish:
      return OnCallFinish(frame.call_finish());
    case Frame::kHostRequest:
      return OnHostRequest(frame.mutable_host_request());
    case Frame::kLog:
    case Frame::kMetric:
      return OnLogOrMetric(frame);
    case Frame::kOutgoingStart:
      return StartOutgoing(frame.outgoing_start());
    case Frame::kOutgoingCancel:
      return OnOutgoingCancel(frame.outgoing_cancel().id());
    default:
      return;  // frames for the child, or unknown: ignored
  }
}

void PluginProcess::OnReady(const Ready& r) {
  std::lock_guard<std::mutex> lock(mu_);
  if (restarts_ == 0 && !up_) {
    manifest_ = ImageManifest{r.plugin_name(),
                              r.version(),
                              r.vendor(),
                              r.status(),
                              r.security_posture(),
                              r.config_type(),
                              {r.services().begin(), r.services().end()},
                              {r.calls().begin(), r.calls().end()},
                              r.file_descriptor_set(),
                              r.sdk_version(),
                              r.api_release()};
  }
  up_ = true;
  state_ = failures_ >= kBreakerFailures ? "failing" : "running";
  for (auto& [id, instance] : instances_) {
    if (!instance->destroyed) SendCreate(id, *instance);
  }
  changed_.notify_all();
}

void PluginProcess::OnCreated(const Created& created) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(created.instance());
  if (it == instances_.end()) return;
  bool ok = created.status().code() == KAIGO_CODE_OK;
  it->second->state = ok ? Instance::State::kReady : Instance::State::kFailed;
  it->second->error = Text(created.status().message(), kMaxStatusMessage);
  changed_.notify_all();
}

void PluginProcess::OnCallWrite(const CallWrite& write) {
  std::shared_ptr<InFlight> call;
  {
    std::lock_guard<std::mutex> lock(mu_);
    call = FindCallLocked(write.call());
  }
  if (call == nullptr) return;
  int32_t written;
  {
    std::lock_guard<std::mutex> lock(call->mu);
    if (call->done) return;
    written = sdk::host::CallWrite(call->call, ToBytes(write.message()));
  }
  // The caller is gone or reads too slowly: the plugin is told, as call_write would tell it
  // in process, so it stops producing.
  if (written != KAIGO_CODE_OK && !call->told_to_stop.exchange(true)) {
    std::shared_ptr<FrameSender> sender;
    {
      std::lock_guard<std::mutex> lock(mu_);
      sender = reply_sender_;
    }
    Frame cancel;
    cancel.mutable_call_cancel()->set_call(call->id);
    if (sender != nullptr) sender->Send(cancel);
  }
}

void PluginProcess::OnCallFinish(const CallFinish& finish) {
  std::shared_ptr<InFlight> call;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(finish.call());
    if (it != calls_.end()) {
      call = std::move(it->second);
      calls_.erase(it);
    }
    if (!hang_watch_.empty()) hang_watch_.erase(finish.call());
    failures_ = 0;  // the child works: the breaker closes
    if (state_ == "failing") state_ = "running";
    if (call != nullptr && call->trial) trial_in_flight_ = false;
  }
  if (call == nullptr) return;
  int code = finish.status().code();
  absl::Status status = code < 0 || code > 16
                            ? absl::InternalError("plugin " + options_.plugin_name +
                                                  " answered with an invalid status code")
                            : sdk::WithSerializedDetails(
                                  absl::Status(static_cast<absl::StatusCode>(code),
                                               Text(finish.status().message(), kMaxStatusMessage)),
                                  finish.status().details());
  FinishOnce(*call, status, status.ok() ? finish.response() : std::string());
}

void PluginProcess::OnHostRequest(HostRequest* incoming) {
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation = generation_;
  }
  uint64_t id = incoming->id();
  bool queued = host_work_.Submit([this, request = std::move(*incoming), generation] {
    ServeHostRequest(request, generation);
  });
  if (!queued) {  // the child waits for an answer: it gets a refusal
    Frame refusal;
    refusal.mutable_host_reply()->set_id(id);
    refusal.mutable_host_reply()->set_code(KAIGO_CODE_RESOURCE_EXHAUSTED);
    std::lock_guard<std::mutex> lock(mu_);
    if (reply_sender_ != nullptr) reply_sender_->Send(refusal);
  }
}

void PluginProcess::OnLogOrMetric(const Frame& frame) {
  uint64_t id = frame.has_log() ? frame.log().instance() : frame.metric().instance();
  kaigo_host* host = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Instance* instance = BorrowLocked(id);
    if (instance == nullptr) return;
    host = instance->host;
  }
  if (frame.has_log()) {
    std::string message = Text(frame.log().message(), kMaxLogMessage);
    options_.host_api->log(host, frame.log().level(), ToStr(message));
  } else {
    options_.host_api->metric_add(host, ToStr(frame.metric().name()), frame.metric().delta());
  }
  std::lock_guard<std::mutex> lock(mu_);
  GiveBackLocked(id);
}

void PluginProcess::OnOutgoingCancel(uint64_t id) {
  kaigo_outgoing_call* handle = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = outgoing_.find(id);
    if (it != outgoing_.end()) handle = it->second->handle;
  }
  if (handle != nullptr) options_.host_api->outgoing_cancel(handle);
}

void PluginProcess::ServeHostRequest(const HostRequest& request, uint64_t generation) {
  HostReply reply;
  reply.set_id(request.id());
  kaigo_host* host = nullptr;
  bool secret_allowed = false;
  std::shared_ptr<InFlight> call;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (Instance* instance = BorrowLocked(request.instance())) {
      host = instance->host;
      secret_allowed = instance->secrets.count(request.key()) > 0;
    }
    call = FindCallLocked(request.call());
  }
  const kaigo_host_api* api = options_.host_api;
  int32_t code = KAIGO_CODE_NOT_FOUND;
  if (host != nullptr) {
    switch (request.op()) {
      case HostRequest::OP_STORE_GET: {
        std::string value;
        code = api->store_get(host, ToStr(request.key()), sdk::StringSink(&value));
        reply.set_value(std::move(value));
        break;
      }
      case HostRequest::OP_STORE_PUT:
        code = api->store_put(host, ToStr(request.key()), ToBytes(request.value()));
        break;
      case HostRequest::OP_STORE_GET_VERSIONED: {
        std::string value;
        int64_t version = 0;
        code =
            api->store_get_versioned(host, ToStr(request.key()), sdk::StringSink(&value), &version);
        reply.set_value(std::move(value));
        reply.set_version(version);
        break;
      }
      case HostRequest::OP_STORE_PUT_IF: {
        int64_t version = 0;
        code = api->store_put_if(host, ToStr(request.key()), ToBytes(request.value()),
                                 request.expected_version(), &version);
        reply.set_version(version);
        break;
      }
      case HostRequest::OP_STORE_DELETE:
        code = api->store_delete(host, ToStr(request.key()));
        break;
      case HostRequest::OP_STORE_LIST:
        code = api->store_list(host, ToStr(request.key()), &reply,
                               [](void* ctx, kaigo_str key, kaigo_bytes value) {
                                 auto* entry = static_cast<HostReply*>(ctx)->add_entries();
                                 entry->set_key(std::string(sdk::FromStr(key)));
                                 entry->set_value(std::string(FromBytes(value)));
                               });
        break;
      case HostRequest::OP_AUDIT_APPEND: {
        kaigo_audit_record record{sizeof(kaigo_audit_record), ToStr(request.action()),
                                  ToStr(request.subject_ref()), request.outcome(),
                                  ToStr(request.detail())};
        if (request.call() == 0) {
          code = api->audit_append(host, nullptr, &record);
        } else if (call != nullptr) {
          std::lock_guard<std::mutex> lock(call->mu);  // the call stays valid while we record
          code = call->done ? KAIGO_CODE_FAILED_PRECONDITION
                            : api->audit_append(host, call->call, &record);
        } else {
          code = KAIGO_CODE_FAILED_PRECONDITION;  // the call is over
        }
        break;
      }
      case HostRequest::OP_SECRET_GET:
        // Only the names the instance's settings mention: an isolated plugin is not trusted with
        // the office's other secrets.
        if (secret_allowed) {
          std::string value;
          code = api->secret_get(host, ToStr(request.key()), sdk::StringSink(&value));
          reply.set_value(std::move(value));
        }
        break;
      case HostRequest::OP_NOW:
        reply.set_now_unix_us(api->now_unix_us(host));
        code = KAIGO_CODE_OK;
        break;
      default:
        code = KAIGO_CODE_INVALID_ARGUMENT;
    }
  }
  reply.set_code(code);
  std::shared_ptr<FrameSender> sender;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (host != nullptr) GiveBackLocked(request.instance());
    if (generation == generation_) sender = reply_sender_;
  }
  if (sender == nullptr) return;
  Frame frame;
  *frame.mutable_host_reply() = std::move(reply);
  sender->Send(frame);
}

void PluginProcess::StartOutgoing(const OutgoingStart& start) {
  auto out = std::make_shared<Outgoing>();
  out->process = this;
  out->id = start.id();
  kaigo_host* host = nullptr;
  std::shared_ptr<InFlight> parent;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out->sender = reply_sender_;
    if (outgoing_.count(start.id()) > 0 || sender_ == nullptr) return;
    Instance* instance = BorrowLocked(start.instance());
    if (instance == nullptr) return;  // a child that names no instance of its own gets no answer
    host = instance->host;
    parent = FindCallLocked(start.parent_call());
    outgoing_[out->id] = out;
  }
  kaigo_reply_handler handler{out.get(), &ProxyApi::OnMessage, &ProxyApi::OnFinish};
  kaigo_outgoing_call* handle = nullptr;
  if (start.parent_call() == 0) {
    handle = options_.host_api->call_start(host, nullptr, ToStr(start.method()),
                                           ToBytes(start.request()), handler);
  } else if (parent != nullptr) {
    std::lock_guard<std::mutex> lock(parent->mu);  // the parent stays valid while it lends
    if (!parent->done) {
      handle = options_.host_api->call_start(host, parent->call, ToStr(start.method()),
                                             ToBytes(start.request()), handler);
    }
  }
  if (handle == nullptr) {
    kaigo_status cancelled{KAIGO_CODE_CANCELLED, ToStr("the calling call is over"), {}};
    ProxyApi::OnFinish(out.get(), &cancelled);
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (handle != nullptr) {
    if (out->finished) {
      to_release_.push_back(handle);
    } else {
      out->handle = handle;
    }
  }
  GiveBackLocked(start.instance());
}

PluginProcess::Instance* PluginProcess::BorrowLocked(uint64_t id) {
  auto it = instances_.find(id);
  if (it == instances_.end() || it->second->destroyed) return nullptr;
  ++it->second->busy;
  return it->second.get();
}

void PluginProcess::GiveBackLocked(uint64_t id) {
  if (--instances_.at(id)->busy == 0) changed_.notify_all();
}

std::shared_ptr<PluginProcess::InFlight> PluginProcess::FindCallLocked(uint64_t id) const {
  auto it = calls_.find(id);
  return it == calls_.end() ? nullptr : it->second;
}

void PluginProcess::ReleaseFinishedOutgoing() {
  std::vector<kaigo_outgoing_call*> release;
  {
    std::lock_guard<std::mutex> lock(mu_);
    release.swap(to_release_);
  }
  for (auto* handle : release) options_.host_api->outgoing_release(handle);
}

absl::StatusOr<uint64_t> PluginProcess::CreateInstance(kaigo_host* host, const std::string& office,
                                                       const std::string& settings,
                                                       std::set<std::string> secrets) {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t id = next_id_++;
  auto instance = std::make_unique<Instance>();
  instance->process = this;
  instance->id = id;
  instance->host = host;
  instance->office = office;
  instance->settings = settings;
  instance->secrets = std::move(secrets);
  Instance* created = instance.get();
  instances_[id] = std::move(instance);
  if (up_) SendCreate(id, *created);
  bool settled = changed_.wait_for(lock, options_.start_timeout, [&] {
    return created->state != Instance::State::kCreating || stopping_;
  });
  if (created->state == Instance::State::kReady) return id;
  std::string why = !settled ? "it did not start within " +
                                   std::to_string(options_.start_timeout.count() / 1000) + " s"
                             : created->error;
  created->destroyed = true;
  changed_.wait(lock, [&] { return created->busy == 0; });
  instances_.erase(id);
  return absl::FailedPreconditionError("plugin " + options_.plugin_name +
                                       " refused to start for office " + office + ": " + why);
}

void PluginProcess::DestroyInstance(uint64_t id) {
  std::shared_ptr<FrameSender> sender;
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = instances_.find(id);
    if (it == instances_.end()) return;
    Instance* instance = it->second.get();
    instance->destroyed = true;
    changed_.wait(lock, [&] { return instance->busy == 0; });
    instances_.erase(id);
    sender = sender_;
  }
  if (sender == nullptr) return;
  Frame frame;
  frame.mutable_destroy()->set_instance(id);
  sender->Send(frame);
}

sdk::host::Target PluginProcess::TargetOf(uint64_t instance, std::shared_ptr<void> keepalive) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(instance);
  sdk::host::Target target;
  target.api = ProxyApi::Table();
  target.instance =
      it == instances_.end() ? nullptr : reinterpret_cast<kaigo_instance*>(it->second.get());
  target.keepalive = std::move(keepalive);
  return target;
}

ProcessRuntime PluginProcess::runtime() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ProcessRuntime{state_, restarts_, last_exit_, static_cast<int>(pid_)};
}

void PluginProcess::StartCall(Instance* instance, kaigo_call* call, const kaigo_call_info* info,
                              kaigo_bytes request, void** call_ctx) {
  auto entry = std::make_shared<InFlight>();
  entry->call = call;
  absl::Status refused;
  std::shared_ptr<FrameSender> sender;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string& name = options_.plugin_name;
    if (stopping_ || state_ == "stopped") {
      refused = absl::UnavailableError("plugin " + name + " is not running");
    } else if (state_ == "failing" && (!up_ || trial_in_flight_)) {
      refused = absl::UnavailableError("plugin " + name + " keeps failing (its process last " +
                                       last_exit_ + "); calls fail fast until it recovers");
    } else if (!up_ || sender_ == nullptr) {
      refused = absl::UnavailableError("plugin " + name + " is restarting (its process " +
                                       last_exit_ + "); try again shortly");
    } else if (instance->state != Instance::State::kReady) {
      refused = absl::UnavailableError(
          "plugin " + name + " is not ready for office " + instance->office +
          (instance->error.empty() ? std::string(": it is starting") : ": " + instance->error));
    } else {
      entry->id = next_id_++;
      if (state_ == "failing") entry->trial = trial_in_flight_ = true;
      calls_[entry->id] = entry;
      sender = sender_;
    }
  }
  if (!refused.ok()) {
    FinishOnce(*entry, refused, {});
    return;
  }
  *call_ctx = reinterpret_cast<void*>(static_cast<uintptr_t>(entry->id));
  Frame frame;
  auto* start = frame.mutable_call_start();
  start->set_call(entry->id);
  start->set_instance(instance->id);
  start->set_method(std::string(sdk::FromStr(info->method)));
  start->set_office(std::string(sdk::FromStr(info->office)));
  start->set_caller(std::string(sdk::FromStr(info->caller)));
  start->set_request_id(std::string(sdk::FromStr(info->request_id)));
  for (size_t i = 0; i < info->role_count; ++i) {
    start->add_roles(std::string(sdk::FromStr(info->roles[i])));
  }
  start->set_deadline_unix_ms(info->deadline_unix_ms);
  if (KAIGO_HAS_FIELD(info, kaigo_call_info, user)) {
    start->set_user(std::string(sdk::FromStr(info->user)));
  }
  start->set_request(std::string(FromBytes(request)));
  if (sender->Send(frame, /*refusable=*/true)) return;
  if (auto taken = TakeCall(entry->id)) {
    FinishOnce(*taken,
               absl::ResourceExhaustedError("plugin " + options_.plugin_name +
                                            " has too much work queued; try again later"),
               {});
  }
}

void PluginProcess::CancelCall(uint64_t id) {
  std::shared_ptr<InFlight> call = TakeCall(id);
  if (call == nullptr) return;
  std::shared_ptr<FrameSender> sender;
  {
    std::lock_guard<std::mutex> lock(mu_);
    hang_watch_[id] = std::chrono::steady_clock::now() + options_.hang_grace;
    if (call->trial) trial_in_flight_ = false;
    sender = reply_sender_;
  }
  if (sender != nullptr) {
    Frame frame;
    frame.mutable_call_cancel()->set_call(id);
    sender->Send(frame);
  }
  FinishOnce(*call, absl::CancelledError("the call was cancelled"), {});
}

std::shared_ptr<PluginProcess::InFlight> PluginProcess::TakeCall(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(id);
  if (it == calls_.end()) return nullptr;
  std::shared_ptr<InFlight> call = std::move(it->second);
  calls_.erase(it);
  return call;
}

void PluginProcess::FinishOnce(InFlight& call, const absl::Status& status,
                               std::string_view response) {
  {
    std::lock_guard<std::mutex> lock(call.mu);
    if (call.done) return;
    call.done = true;
  }
  kaigo_status s = sdk::ToKaigoStatus(status);
  sdk::host::CallFinish(call.call, &s, ToBytes(response));
}

}  // namespace kaigo::engine::isolation
