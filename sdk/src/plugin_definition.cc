#include "kaigo/sdk/plugin_definition.h"

#include <array>
#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "google/protobuf/descriptor.pb.h"
#include "kaigo/sdk/abi.h"

namespace kaigo::sdk {

const google::protobuf::ServiceDescriptor* FindService(std::string_view full_name) {
  return google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      std::string(full_name));
}

namespace internal {

namespace {

void AddFileWithDeps(const google::protobuf::FileDescriptor* file, std::set<std::string>* seen,
                     google::protobuf::FileDescriptorSet* set) {
  if (!seen->insert(file->name()).second) return;
  for (int i = 0; i < file->dependency_count(); ++i)
    AddFileWithDeps(file->dependency(i), seen, set);
  file->CopyTo(set->add_file());  // dependencies first, as protoc orders them
}

// Everything an exported C table points at; one per exported definition, never freed (the
// table lives as long as the process).
struct Exported {
  PluginDefinition definition;
  std::string descriptor_set;
  std::vector<std::string> service_names;
  std::vector<const char*> service_name_ptrs;
  std::string config_type;
  std::vector<const char*> call_ptrs;
  kaigo_manifest manifest{};
  kaigo_plugin_api api{};
};

// The definitions exported so far, each at the slot whose create entry point serves it.
std::atomic<Exported*> slots[kMaxExportedPlugins] = {};
std::mutex slots_mu;
size_t slots_used = 0;  // guarded by slots_mu

}  // namespace

std::string DescriptorSetFor(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services,
    const google::protobuf::Descriptor* config_type) {
  google::protobuf::FileDescriptorSet set;
  std::set<std::string> seen;
  for (const auto* s : services) {
    if (s != nullptr) AddFileWithDeps(s->file(), &seen, &set);
  }
  if (config_type != nullptr) AddFileWithDeps(config_type->file(), &seen, &set);
  return set.SerializeAsString();
}

// The C entry points of the table; each turns ABI calls into the C++ layer's.
class Dispatcher {
 public:
  static int32_t Create(const PluginDefinition& definition, const kaigo_host_api* host_api,
                        kaigo_host* host, const kaigo_instance_info* info, kaigo_bytes config,
                        kaigo_instance** out, kaigo_sink error) {
    auto fail = [&](const absl::Status& status) {
      std::string message(status.message());
      if (error.write != nullptr) {
        error.write(error.ctx, reinterpret_cast<const uint8_t*>(message.data()), message.size());
      }
      return static_cast<int32_t>(status.code());
    };
    if (host_api == nullptr || host_api->abi_version != KAIGO_ABI_VERSION ||
        !KAIGO_HAS_FIELD(host_api, kaigo_host_api, outgoing_release)) {
      return fail(absl::FailedPreconditionError("the host's ABI table is not compatible"));
    }
    InstanceContext context;
    if (info != nullptr) {
      context.office = std::string(FromStr(info->office));
      context.plugin_name = std::string(FromStr(info->plugin_name));
    }
    try {
      auto instance = definition.create(HostServices(host_api, host), context, FromBytes(config));
      if (!instance.ok()) return fail(instance.status());
      if (*instance == nullptr) return fail(absl::InternalError("the plugin created no instance"));
      if (!(*instance)->registration_status().ok()) {
        return fail(absl::InternalError("handler registration: " +
                                        std::string((*instance)->registration_status().message())));
      }
      *out = reinterpret_cast<kaigo_instance*>(instance->release());
      return KAIGO_CODE_OK;
    } catch (...) {
      // Not the exception's text: it may hold a secret the settings named.
      return fail(absl::InternalError("plugin creation failed (an exception)"));
    }
  }

  static void Destroy(kaigo_instance* raw) {
    auto* instance = reinterpret_cast<Instance*>(raw);
    // Outgoing calls first (a queued task may wait on a reply), then the queued tasks, while the
    // derived instance still exists, then whatever those tasks started.
    try {
      instance->host().CancelAndAwaitOutgoing();
      instance->StopWorkers();
      instance->host().CancelAndAwaitOutgoing();
      delete instance;
    } catch (...) {
      // Nothing to report to: the host is letting go of the instance.
    }
  }

  static void CallStart(kaigo_instance* raw, kaigo_call* call, const kaigo_call_info* info,
                        kaigo_bytes request, void** call_ctx) {
    auto* instance = reinterpret_cast<Instance*>(raw);
    *call_ctx = nullptr;
    std::string method(FromStr(info->method));
    auto it = instance->handlers_.find(method);
    if (it == instance->handlers_.end()) {
      std::string message = method + " is not implemented by this plugin";
      kaigo_status status{KAIGO_CODE_UNIMPLEMENTED, ToStr(message), kaigo_bytes{nullptr, 0}};
      instance->host().api()->call_finish(call, &status, kaigo_bytes{nullptr, 0});
      return;
    }
    // The handler runs under RunGuarded once its call object exists; this covers what comes
    // before (parsing the request, allocating the call), which has not finished the call.
    try {
      it->second(call, *info, request, call_ctx);
    } catch (...) {
      *call_ctx = nullptr;
      std::string message = "the plugin failed while handling request " +
                            std::string(FromStr(info->request_id)) + " (an internal error)";
      kaigo_status status{KAIGO_CODE_INTERNAL, ToStr(message), kaigo_bytes{nullptr, 0}};
      instance->host().api()->call_finish(call, &status, kaigo_bytes{nullptr, 0});
    }
  }

  static void CallCancel(kaigo_instance*, kaigo_call*, void* call_ctx) {
    if (call_ctx != nullptr) static_cast<CallBase*>(call_ctx)->NotifyCancelled();
  }
};

namespace {

using CreateFn = decltype(kaigo_plugin_api::create);

// The create entry point of slot I: the ABI passes nothing that names the definition, so each
// exported table gets a function of its own.
template <size_t I>
int32_t CreateInSlot(const kaigo_host_api* host_api, kaigo_host* host,
                     const kaigo_instance_info* info, kaigo_bytes config, kaigo_instance** out,
                     kaigo_sink error) {
  return Dispatcher::Create(slots[I].load(std::memory_order_acquire)->definition, host_api, host,
                            info, config, out, error);
}

template <size_t... I>
constexpr std::array<CreateFn, sizeof...(I)> CreateEntries(std::index_sequence<I...>) {
  return {&CreateInSlot<I>...};
}

constexpr std::array<CreateFn, kMaxExportedPlugins> kCreateInSlot =
    CreateEntries(std::make_index_sequence<kMaxExportedPlugins>());

// The table's strings and arrays, pointing into `e`.
void BuildTable(Exported* e, CreateFn create, const char* sdk_version, const char* api_release) {
  e->descriptor_set = DescriptorSetFor(e->definition.services, e->definition.config_type);
  for (const auto* s : e->definition.services) {
    if (s != nullptr) e->service_names.push_back(s->full_name());
  }
  for (const auto& n : e->service_names) e->service_name_ptrs.push_back(n.c_str());
  if (e->definition.config_type != nullptr) e->config_type = e->definition.config_type->full_name();
  for (const auto& c : e->definition.calls) e->call_ptrs.push_back(c.c_str());
  e->manifest = kaigo_manifest{sizeof(kaigo_manifest),
                               e->definition.name.c_str(),
                               e->definition.version.c_str(),
                               e->definition.vendor.c_str(),
                               e->definition.status.c_str(),
                               e->definition.security_posture.c_str(),
                               e->service_name_ptrs.data(),
                               e->service_name_ptrs.size(),
                               ToBytes(e->descriptor_set),
                               e->config_type.c_str(),
                               e->call_ptrs.data(),
                               e->call_ptrs.size(),
                               sdk_version,
                               api_release};
  e->api = kaigo_plugin_api{
      sizeof(kaigo_plugin_api), KAIGO_ABI_VERSION,      &e->manifest,           create,
      &Dispatcher::Destroy,     &Dispatcher::CallStart, &Dispatcher::CallCancel};
}

}  // namespace

const kaigo_plugin_api* Export(uint32_t host_abi_version, PluginDefinition (*define)(),
                               const char* sdk_version, const char* api_release) {
  if (host_abi_version != KAIGO_ABI_VERSION) return nullptr;
  static std::mutex mu;
  static auto* by_define = new std::map<PluginDefinition (*)(), const kaigo_plugin_api*>();
  std::lock_guard<std::mutex> lock(mu);
  auto [it, added] = by_define->emplace(define, nullptr);
  if (added) it->second = ExportPlugin(define(), sdk_version, api_release);
  return it->second;
}

}  // namespace internal

const kaigo_plugin_api* ExportPlugin(PluginDefinition definition, const char* sdk_version,
                                     const char* api_release) {
  size_t slot;
  {
    std::lock_guard<std::mutex> lock(internal::slots_mu);
    if (internal::slots_used == kMaxExportedPlugins) return nullptr;
    slot = internal::slots_used++;
  }
  auto* e = new internal::Exported();
  e->definition = std::move(definition);
  internal::BuildTable(e, internal::kCreateInSlot[slot], sdk_version, api_release);
  internal::slots[slot].store(e, std::memory_order_release);
  return &e->api;
}

}  // namespace kaigo::sdk
