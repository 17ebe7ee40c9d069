#include "engine/plugin/plugin_instance.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/config/config_loader.h"
#include "google/protobuf/message.h"
#include "kaigo/sdk/abi.h"
#include "kaigo/sdk/host_services.h"

namespace kaigo::engine {

using sdk::FromBytes;
using sdk::FromStr;

namespace {

PluginInstance* Self(kaigo_host* host) { return reinterpret_cast<PluginInstance*>(host); }

std::optional<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string secret{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  // In a text secret a trailing newline is an artefact of editors and `echo`; binary secrets
  // (a PKCS#12 certificate) are passed exactly as stored.
  bool text = std::all_of(secret.begin(), secret.end(), [](unsigned char c) {
    return c >= 0x20 || c == '\n' || c == '\r' || c == '\t';
  });
  while (text && !secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
    secret.pop_back();
  }
  return secret;
}

// Every string in a settings message: the secret names an isolated instance may read are the ones
// its settings mention.
void CollectStrings(const google::protobuf::Message& message, std::set<std::string>* out) {
  const auto* reflection = message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const auto* field : fields) {
    using FD = google::protobuf::FieldDescriptor;
    bool repeated = field->is_repeated();
    int n = repeated ? reflection->FieldSize(message, field) : 1;
    for (int i = 0; i < n; ++i) {
      if (field->cpp_type() == FD::CPPTYPE_STRING) {
        out->insert(repeated ? reflection->GetRepeatedString(message, field, i)
                             : reflection->GetString(message, field));
      } else if (field->cpp_type() == FD::CPPTYPE_MESSAGE) {
        CollectStrings(repeated ? reflection->GetRepeatedMessage(message, field, i)
                                : reflection->GetMessage(message, field),
                       out);
      }
    }
  }
}

std::set<std::string> SecretsNamedIn(const PluginImage& image, const std::string& settings) {
  std::set<std::string> names;
  if (image.config_type() == nullptr) return names;
  std::unique_ptr<google::protobuf::Message> message(
      image.factory()->GetPrototype(image.config_type())->New());
  if (message->ParseFromString(settings)) CollectStrings(*message, &names);
  return names;
}

class Reaper {
 public:
  static Reaper& Get() {
    static Reaper* reaper = new Reaper();  // lives for the process
    return *reaper;
  }
  void Post(PluginInstance* instance) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(instance);
    wake_.notify_one();
  }

 private:
  Reaper() {
    std::thread([this] {
      for (;;) {
        PluginInstance* next;
        {
          std::unique_lock<std::mutex> lock(mu_);
          wake_.wait(lock, [this] { return !queue_.empty(); });
          next = queue_.front();
          queue_.pop_front();
        }
        delete next;
      }
    }).detach();
  }
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<PluginInstance*> queue_;
};

}  // namespace

// The engine's kaigo_host_api: each function finds its instance through the kaigo_host pointer.
struct EngineHostApi {
  static void Log(kaigo_host* h, int32_t level, kaigo_str message) {
    PluginInstance* self = Self(h);
    LogLevel l = level <= 0   ? LogLevel::kDebug
                 : level >= 3 ? LogLevel::kError
                              : static_cast<LogLevel>(level);
    self->env_->logger->Log(l, FromStr(message),
                            {{"plugin", self->image_->name()}, {"office", self->office_}});
  }
  static int32_t Code(const absl::Status& s) { return static_cast<int32_t>(s.code()); }
  static int32_t StoreGet(kaigo_host* h, kaigo_str key, kaigo_sink value) {
    PluginInstance* self = Self(h);
    auto v = self->env_->store->Get(self->image_->name(), self->office_, FromStr(key));
    if (!v.ok()) return Code(v.status());
    value.write(value.ctx, reinterpret_cast<const uint8_t*>(v->data()), v->size());
    return KAIGO_CODE_OK;
  }
  static int32_t StorePut(kaigo_host* h, kaigo_str key, kaigo_bytes value) {
    PluginInstance* self = Self(h);
    if (key.size > 512) return KAIGO_CODE_INVALID_ARGUMENT;
    return Code(self->env_->store->Put(self->image_->name(), self->office_, FromStr(key),
                                       FromBytes(value)));
  }
  static int32_t StoreGetVersioned(kaigo_host* h, kaigo_str key, kaigo_sink value,
                                   int64_t* version) {
    PluginInstance* self = Self(h);
    auto v = self->env_->store->GetVersioned(self->image_->name(), self->office_, FromStr(key));
    if (!v.ok()) return Code(v.status());
    value.write(value.ctx, reinterpret_cast<const uint8_t*>(v->value.data()), v->value.size());
    if (version != nullptr) *version = v->version;
    return KAIGO_CODE_OK;
  }
  static int32_t StorePutIf(kaigo_host* h, kaigo_str key, kaigo_bytes value,
                            int64_t expected_version, int64_t* new_version) {
    PluginInstance* self = Self(h);
    if (key.size > 512 || expected_version < 0) return KAIGO_CODE_INVALID_ARGUMENT;
    auto written = self->env_->store->PutIf(self->image_->name(), self->office_, FromStr(key),
                                            FromBytes(value), expected_version);
    if (!written.ok()) return Code(written.status());
    if (new_version != nullptr) *new_version = *written;
    return KAIGO_CODE_OK;
  }
  static int32_t StoreDelete(kaigo_host* h, kaigo_str key) {
    PluginInstance* self = Self(h);
    return Code(self->env_->store->Delete(self->image_->name(), self->office_, FromStr(key)));
  }
  static int32_t StoreList(kaigo_host* h, kaigo_str prefix, void* ctx,
                           void (*each)(void*, kaigo_str, kaigo_bytes)) {
    PluginInstance* self = Self(h);
    return Code(self->env_->store->List(self->image_->name(), self->office_, FromStr(prefix),
                                        [&](std::string_view k, std::string_view v) {
                                          each(ctx, sdk::ToStr(k), sdk::ToBytes(v));
                                        }));
  }
  static int32_t AuditAppend(kaigo_host* h, const kaigo_call* call,
                             const kaigo_audit_record* record) {
    PluginInstance* self = Self(h);
    AuditRecord r;
    r.time_ms = absl::ToUnixMillis(self->env_->clock->Now());
    r.office = self->office_;
    r.plugin = self->image_->name();
    if (call != nullptr) {
      const auto& context = sdk::host::ContextOf(call);
      r.caller = context.caller;
      r.request_id = context.request_id;
      r.user = context.user;
    } else {
      r.caller = "plugin:" + self->image_->name();
    }
    r.action = std::string(FromStr(record->action));
    r.subject_ref = std::string(FromStr(record->subject_ref));
    r.outcome = record->outcome;
    if (KAIGO_HAS_FIELD(record, kaigo_audit_record, detail)) {
      r.detail = std::string(FromStr(record->detail));
    }
    return Code(self->env_->store->AppendAudit(r));
  }
  static int32_t SecretGet(kaigo_host* h, kaigo_str name, kaigo_sink value) {
    PluginInstance* self = Self(h);
    if (FromStr(name) == sdk::kRecipientRefSecret) {  // the engine's, never an office's
      const std::string& key = self->env_->recipient_ref_key;
      if (key.empty()) return KAIGO_CODE_NOT_FOUND;
      value.write(value.ctx, reinterpret_cast<const uint8_t*>(key.data()), key.size());
      return KAIGO_CODE_OK;
    }
    auto it = self->secrets_.find(std::string(FromStr(name)));
    if (it == self->secrets_.end()) return KAIGO_CODE_NOT_FOUND;
    std::optional<std::string> secret;
    if (!it->second.env().empty()) {
      if (const char* v = std::getenv(it->second.env().c_str())) secret = v;
    } else {
      std::lock_guard<std::mutex> lock(self->reads_mu_);
      secret = self->reads_ != nullptr
                   ? self->reads_->Read(it->second.file())
                   : ReadSecretFile(ResolvePath(self->config_dir_, it->second.file()));
    }
    if (!secret) return KAIGO_CODE_NOT_FOUND;
    value.write(value.ctx, reinterpret_cast<const uint8_t*>(secret->data()), secret->size());
    return KAIGO_CODE_OK;
  }
  static void MetricAdd(kaigo_host* h, kaigo_str name, double delta) {
    PluginInstance* self = Self(h);
    self->env_->metrics->PluginCounterAdd(self->image_->name(), std::string(FromStr(name)), delta);
  }
  static kaigo_outgoing_call* CallStart(kaigo_host* h, const kaigo_call* parent, kaigo_str method,
                                        kaigo_bytes request, kaigo_reply_handler handler) {
    PluginInstance* self = Self(h);
    sdk::CallContext context =
        sdk::CallContext::Child(parent != nullptr ? &sdk::host::ContextOf(parent) : nullptr,
                                std::string(FromStr(method)), self->office_, self->image_->name());
    absl::StatusOr<sdk::host::Target> target =
        self->image_->Calls(context.method)
            ? self->env_->router->RouteInternal(self->office_, context.method, context.roles)
            : absl::PermissionDeniedError("plugin " + self->image_->name() +
                                          " did not declare in its manifest that it calls " +
                                          context.method);
    if (!target.ok()) {
      return sdk::host::StartOutgoing(sdk::host::Target{}, target.status(), {}, {}, handler);
    }
    return sdk::host::StartOutgoing(*std::move(target), absl::OkStatus(), std::move(context),
                                    FromBytes(request), handler);
  }

  static int64_t NowUnixUs(kaigo_host* h) {
    return absl::ToUnixMicros(Self(h)->env_->clock->Now());
  }

  static const kaigo_host_api* Table() {
    static const kaigo_host_api table{sizeof(kaigo_host_api),
                                      KAIGO_ABI_VERSION,
                                      &Log,
                                      &sdk::host::CallWrite,
                                      &sdk::host::CallFinish,
                                      &StoreGet,
                                      &StorePut,
                                      &StoreDelete,
                                      &StoreList,
                                      &AuditAppend,
                                      &SecretGet,
                                      &MetricAdd,
                                      &CallStart,
                                      &sdk::host::OutgoingCancel,
                                      &sdk::host::OutgoingRelease,
                                      &NowUnixUs,
                                      &StoreGetVersioned,
                                      &StorePutIf};
    return &table;
  }
};

std::optional<std::string> SecretFileReads::Read(const std::string& file) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(file);
  if (it == files_.end()) {
    it = files_.emplace(file, ReadSecretFile(ResolvePath(config_dir_, file))).first;
  }
  return it->second;
}

bool HostEnvironment::AwaitNoInstances(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(live_mu);
  return none_live.wait_for(lock, timeout, [this] { return live == 0; });
}

absl::StatusOr<std::shared_ptr<PluginInstance>> PluginInstance::Create(
    std::shared_ptr<const PluginImage> image, HostEnvironment* env,
    const kaigo::v1::OfficeConfig& office, std::string config_dir, std::string settings,
    SecretFileReads* reads, std::shared_ptr<isolation::PluginProcess> process) {
  if (process == nullptr && image->api() == nullptr) {
    return absl::InternalError("plugin " + image->name() + " is isolated but has no process");
  }
  std::unique_ptr<PluginInstance> instance(new PluginInstance());
  instance->image_ = std::move(image);
  instance->env_ = env;
  instance->office_ = office.number();
  instance->config_dir_ = std::move(config_dir);
  instance->settings_ = std::move(settings);
  for (const auto& s : office.secrets()) instance->secrets_[s.name()] = s.ref();
  if (reads != nullptr && reads->config_dir() == instance->config_dir_) instance->reads_ = reads;

  const PluginImage& img = *instance->image_;
  kaigo_host* host = reinterpret_cast<kaigo_host*>(instance.get());
  if (process != nullptr) {
    {
      std::lock_guard<std::mutex> lock(env->live_mu);
      ++env->live;  // counted from here: the destructor uncounts it, created or not
    }
    // An isolated plugin reads the secrets its settings name, and the recipient-reference key:
    // its records name recipients by reference too.
    std::set<std::string> secrets = SecretsNamedIn(img, instance->settings_);
    secrets.insert(sdk::kRecipientRefSecret);
    auto remote =
        process->CreateInstance(host, instance->office_, instance->settings_, std::move(secrets));
    {
      std::lock_guard<std::mutex> lock(instance->reads_mu_);
      instance->reads_ = nullptr;
    }
    if (!remote.ok()) return remote.status();
    instance->process_ = std::move(process);
    instance->remote_ = *remote;
    return std::shared_ptr<PluginInstance>(instance.release(), &DestroyLater);
  }
  kaigo_instance_info info{sizeof(kaigo_instance_info), sdk::ToStr(instance->office_),
                           sdk::ToStr(img.name())};
  std::string error;
  int32_t code =
      img.api()->create(EngineHostApi::Table(), host, &info, sdk::ToBytes(instance->settings_),
                        &instance->instance_, sdk::StringSink(&error));
  {
    std::lock_guard<std::mutex> lock(instance->reads_mu_);
    instance->reads_ = nullptr;
  }
  {
    std::lock_guard<std::mutex> lock(env->live_mu);
    ++env->live;  // counted from here: the destructor uncounts it, created or not
  }
  if (code != KAIGO_CODE_OK || instance->instance_ == nullptr) {
    instance->instance_ = nullptr;
    return sdk::FromKaigoCode(
        code == KAIGO_CODE_OK ? KAIGO_CODE_INTERNAL : code,
        "plugin " + img.name() + " refused to start for office " + office.number() + ": " + error);
  }
  return std::shared_ptr<PluginInstance>(instance.release(), &DestroyLater);
}

PluginInstance::~PluginInstance() {
  if (instance_ != nullptr) image_->api()->destroy(instance_);
  if (process_ != nullptr) process_->DestroyInstance(remote_);
  if (env_ == nullptr) return;
  std::lock_guard<std::mutex> lock(env_->live_mu);
  if (--env_->live == 0) env_->none_live.notify_all();
}

sdk::host::Target PluginInstance::TargetOf(const std::shared_ptr<PluginInstance>& instance) {
  if (instance->process_ != nullptr)
    return instance->process_->TargetOf(instance->remote_, instance);
  return sdk::host::Target{instance->image_->api(), instance->instance_, instance};
}

void DestroyLater(PluginInstance* instance) { Reaper::Get().Post(instance); }

absl::StatusOr<std::shared_ptr<isolation::PluginProcess>> StartPluginProcess(
    const std::string& name, const std::string& path, const std::string& sha256,
    const kaigo::v1::ProcessLimits& limits, HostEnvironment* env) {
  isolation::ProcessOptions options;
  options.plugin_name = name;
  options.image_path = path;
  options.image_sha256 = sha256;
  options.host_program = isolation::FindPluginHost();
  options.limits.memory_bytes = int64_t{limits.memory_mb() > 0 ? limits.memory_mb() : 1024} << 20;
  options.limits.open_files = limits.open_files() > 0 ? limits.open_files() : 256;
  for (const auto& name : limits.environment()) {
    if (const char* value = std::getenv(name.c_str())) {
      options.limits.environment.push_back(name + "=" + value);
    }
  }
  options.hang_grace = std::chrono::seconds(limits.hang_seconds() > 0 ? limits.hang_seconds() : 10);
  options.host_api = EngineHostApi::Table();
  options.on_exit = [env, name](const std::string& how) {
    env->logger->Error("isolated plugin process ended; restarting it",
                       {{"plugin", name}, {"how", how}});
    env->metrics->PluginRestarted(name);
  };
  return isolation::PluginProcess::Start(std::move(options));
}

}  // namespace kaigo::engine
