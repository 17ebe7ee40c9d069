#include "engine/engine.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/config/engine_keys.h"
#include "engine/store/open_store.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpc/health/v1/health.pb.h"
#include "grpc/reflection/v1/reflection.pb.h"
#include "grpc/reflection/v1alpha/reflection.pb.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/pagination.h"

namespace kaigo::engine {

const std::vector<std::string>& EngineServiceNames() {
  // Naming a message of each file links its descriptors into the process.
  static const std::vector<std::string> names = {
      kaigo::v1::ListPluginsRequest::descriptor()->file()->service(0)->full_name(),
      grpc::health::v1::HealthCheckRequest::descriptor()->file()->service(0)->full_name(),
      grpc::reflection::v1::ServerReflectionRequest::descriptor()->file()->service(0)->full_name(),
      grpc::reflection::v1alpha::ServerReflectionRequest::descriptor()
          ->file()
          ->service(0)
          ->full_name()};
  return names;
}

namespace {

// Each served method's declared policy: from the images' descriptors (a vendor's service declares
// its own), which the engine parses with its generated registry, so `(kaigo).access` is known.
std::map<std::string, MethodPolicy> PoliciesOf(
    const std::map<std::string, std::shared_ptr<const PluginImage>>& images,
    const std::unordered_map<std::string, MethodRoute>& methods) {
  std::map<std::string, MethodPolicy> policies;
  for (const auto& [path, route] : methods) policies[path] = DeclaredPolicy({});
  for (const auto& [name, image] : images) {
    for (const auto& file : image->files().file()) {
      for (const auto& service : file.service()) {
        std::string prefix =
            "/" + (file.package().empty() ? "" : file.package() + ".") + service.name() + "/";
        for (const auto& method : service.method()) {
          auto it = policies.find(prefix + method.name());
          if (it != policies.end() && !it->second.declared) {
            it->second = DeclaredPolicy(method.options());
          }
        }
      }
    }
  }
  return policies;
}

// Where this configuration lets images come from (plugin_image.h).
ImageSources SourcesOf(const LoadedConfig& loaded) {
  ImageSources sources;
  sources.require_pins = loaded.config.require_plugin_pins();
  std::set<std::string> dirs;
  auto add = [&](const std::string& dir) {
    std::error_code ec;
    std::string canonical = std::filesystem::canonical(dir, ec).string();
    if (!ec) dirs.insert(canonical);
  };
  for (const auto& dir : loaded.config.plugin_dirs()) add(loaded.Resolve(dir));
  if (loaded.config.plugin_dirs_size() == 0) {
    for (const auto& p : loaded.config.plugins()) {
      add(std::filesystem::path(loaded.Resolve(p.path())).parent_path().string());
    }
  }
  sources.dirs.assign(dirs.begin(), dirs.end());
  return sources;
}

bool SameSecrets(const kaigo::v1::OfficeConfig& a,
                 const std::map<std::string, kaigo::v1::OfficeConfig>& previous) {
  auto it = previous.find(a.number());
  if (it == previous.end()) return false;
  if (it->second.secrets_size() != a.secrets_size()) return false;
  for (int i = 0; i < a.secrets_size(); ++i) {
    if (!google::protobuf::util::MessageDifferencer::Equals(a.secrets(i), it->second.secrets(i))) {
      return false;
    }
  }
  return true;
}

// Each office's own sealing key (id and secret reference), to tell whether a reload changed one.
std::map<std::string, std::string> OfficeSealingKeys(const kaigo::v1::EngineConfig& config) {
  std::map<std::string, std::string> keys;
  for (const auto& office : config.offices()) {
    if (office.has_sealing_key()) keys[office.number()] = office.sealing_key().SerializeAsString();
  }
  return keys;
}

// The manifest's maturity label; anything else (a manifest the loader accepted before labels
// were checked) reads as unspecified.
kaigo::v1::PluginMaturity MaturityOf(const std::string& status) {
  if (status == "stable") return kaigo::v1::PLUGIN_MATURITY_STABLE;
  if (status == "alpha") return kaigo::v1::PLUGIN_MATURITY_ALPHA;
  if (status == "experimental") return kaigo::v1::PLUGIN_MATURITY_EXPERIMENTAL;
  return kaigo::v1::PLUGIN_MATURITY_UNSPECIFIED;
}

kaigo::v1::PluginState StateOf(const std::string& process_state) {
  if (process_state == "running") return kaigo::v1::PLUGIN_STATE_RUNNING;
  if (process_state == "restarting") return kaigo::v1::PLUGIN_STATE_RESTARTING;
  if (process_state == "failing") return kaigo::v1::PLUGIN_STATE_FAILING;
  if (process_state == "stopped") return kaigo::v1::PLUGIN_STATE_STOPPED;
  return kaigo::v1::PLUGIN_STATE_UNSPECIFIED;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const std::string& config_path,
                                                       std::vector<std::string>* errors,
                                                       bool check_only, const std::string& root,
                                                       absl::Duration clock_offset) {
  std::unique_ptr<Engine> engine(new Engine());
  ConfigErrors config_errors;
  LoadedConfig loaded = LoadConfig(config_path, &config_errors, root);
  if (!loaded.parsed) {
    *errors = config_errors.list();
    return absl::InvalidArgumentError("the configuration has errors");
  }
  if (clock_offset != absl::ZeroDuration()) {
    std::string not_loopback;
    if (!ListensOnLoopbackOnly(loaded.config.server(), &not_loopback)) {
      errors->push_back(
          "--clock-offset: a test clock is accepted only by an engine that listens "
          "on loopback alone; " +
          not_loopback + " is not loopback");
      return absl::InvalidArgumentError("the clock offset was refused");
    }
    engine->clock_.set_offset(clock_offset);
    engine->logger_.Warn("the clock is moved for testing",
                         {{"offset_seconds", absl::StrCat(absl::ToInt64Seconds(clock_offset))},
                          {"today", IsoDate(engine->clock_.Today())}});
  }
  engine->config_path_ = loaded.path;
  engine->config_dir_ = loaded.dir;
  engine->limiter_ =
      std::make_unique<CallLimiter>(CallLimits::From(loaded.config.server().call_limits()));
  engine->logger_.SetLevel(ParseLogLevel(loaded.config.log().level()).value_or(LogLevel::kInfo));
  // Checking keeps the store in memory and its keys with it: the key files were checked by
  // ValidateConfig, and the environment a check runs in need not hold the engine's keys.
  auto keys = check_only ? LoadEngineKeys({}, {}, loaded.dir, /*create_missing=*/false)
                         : LoadEngineKeys(loaded.config.keys(), loaded.config.store(), loaded.dir,
                                          /*create_missing=*/true, /*value_keys=*/true,
                                          loaded.config.offices());
  if (!keys.ok()) {
    errors->push_back(loaded.Where("keys") + ": " + std::string(keys.status().message()));
    return keys.status();
  }
  for (const auto& warning : keys->warnings) engine->logger_.Warn(warning);
  auto store = OpenSealedStore(check_only ? kaigo::v1::StoreConfig() : loaded.config.store(),
                               loaded.dir, *keys);
  if (!store.ok()) {
    errors->push_back(loaded.Where("store") + ": store: " + std::string(store.status().message()));
    return store.status();
  }
  if (!check_only) {
    // A store from before sealing (or values some tool wrote in clear) is sealed in place before
    // any plugin reads it.
    auto counts = (*store)->Reseal(/*rekey=*/false);
    if (!counts.ok()) {
      errors->push_back(loaded.Where("store") +
                        ": sealing the stored values: " + std::string(counts.status().message()));
      return counts.status();
    }
    engine->LogReseal(*counts);
  }
  engine->store_ = *std::move(store);
  engine->env_.recipient_ref_key = keys->recipient_ref.secret;
  engine->env_.store = engine->store_.get();
  engine->env_.metrics = &engine->metrics_;
  engine->env_.logger = &engine->logger_;
  engine->env_.router = engine.get();
  engine->env_.clock = &engine->clock_;
  ImageSources sources = SourcesOf(loaded);
  auto table = engine->Build(loaded, std::move(config_errors), sources, errors);
  if (!table.ok()) return table.status();
  engine->sources_ = std::move(sources);
  engine->running_config_ = std::move(loaded.config);
  engine->Publish(*table);
  if (!check_only) engine->StartAuditHead(keys->audit.id);
  return engine;
}

void Engine::LogReseal(const ResealCounts& counts) {
  if (counts.sealed > 0) {
    logger_.Warn(
        "stored values found in clear were sealed, and the store compacted",
        {{"sealed", absl::StrCat(counts.sealed)}, {"values", absl::StrCat(counts.examined)}});
  }
}

void Engine::StartAuditHead(const std::string& audit_key_id) {
  Store* store = store_.get();
  metrics_.SetAuditChainLength([store]() -> std::optional<int64_t> {
    auto head = store->AuditChainHead();
    return head.ok() ? std::optional<int64_t>(head->length) : std::nullopt;
  });
  // A chain begun before keys continues keyed from a marker record (engine/store/audit_chain.h).
  if (auto head = store->AuditChainHead(); head.ok() && head->length > 0 && head->key_id.empty()) {
    AuditRecord marker;
    marker.time_ms = absl::ToUnixMillis(clock_.Now());
    marker.caller = "engine";
    marker.action = "audit.keyed";
    marker.detail = absl::StrCat("the chain continues under audit key ", audit_key_id, " after ",
                                 head->length, " unkeyed records ending in ", head->hash);
    if (absl::Status s = store->AppendAudit(marker); !s.ok()) {
      logger_.Error("the audit chain's keyed marker could not be written",
                    {{"error", std::string(s.message())}});
    }
  }
  auto log_head = [this] {
    auto head = store_->AuditChainHead();
    if (head.ok()) {
      logger_.Info(
          "audit chain head",
          {{"length", absl::StrCat(head->length)}, {"hash", head->hash}, {"key_id", head->key_id}});
    } else {
      logger_.Warn("audit chain head unavailable",
                   {{"error", std::string(head.status().message())}});
    }
  };
  log_head();  // before the engine serves, so the first line is there once it does
  int seconds = running_config_.audit().head_log_interval_seconds();
  auto interval = std::chrono::seconds(seconds > 0 ? seconds : 300);
  audit_head_thread_ = std::thread([this, interval, log_head] {
    std::unique_lock<std::mutex> lock(audit_head_mu_);
    while (!audit_head_wake_.wait_for(lock, interval, [this] { return audit_head_stopping_; })) {
      lock.unlock();
      log_head();
      lock.lock();
    }
  });
}

std::vector<std::string> Engine::CheckConfig(const std::string& config_path,
                                             const std::string& root) {
  std::vector<std::string> errors;
  auto engine = Create(config_path, &errors, /*check_only=*/true, root);
  if (!engine.ok() && errors.empty()) errors.push_back(std::string(engine.status().message()));
  return errors;
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(audit_head_mu_);
    audit_head_stopping_ = true;
  }
  audit_head_wake_.notify_all();
  if (audit_head_thread_.joinable()) audit_head_thread_.join();
  Publish(nullptr);
  // Instances are destroyed on the reaper thread and may still use the store and the logger.
  if (!env_.AwaitNoInstances(std::chrono::seconds(10))) {
    logger_.Error("plugin instances were still alive 10 s after the engine let go of them");
  }
}

std::shared_ptr<const RoutingTable> Engine::table() const {
  std::lock_guard<std::mutex> lock(table_mu_);
  return table_;
}

void Engine::Publish(std::shared_ptr<const RoutingTable> table) {
  std::shared_ptr<const RoutingTable> old;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    old = std::move(table_);
    table_ = std::move(table);
  }
  // `old` is released here, outside the lock; its instances drain as their calls finish.
}

std::vector<std::string> Engine::AccessTable() const {
  auto t = table();
  std::map<std::string, std::string> rows;
  auto row = [](const MethodPolicy& p) {
    return absl::StrCat(DescribeRoles(p), "  (", p.source, ")");
  };
  if (t != nullptr) {
    for (const auto& [path, route] : t->methods) rows[path] = row(route.policy);
  }
  const auto* admin = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      "kaigo.v1.EngineAdminService");
  for (int i = 0; admin != nullptr && i < admin->method_count(); ++i) {
    const auto* m = admin->method(i);
    rows["/" + admin->full_name() + "/" + m->name()] =
        row(DeclaredPolicy(m->options())) + (running_config_.server().admin_socket().empty()
                                                 ? ""
                                                 : "; anyone who can open the admin socket");
  }
  std::vector<std::string> lines;
  size_t width = 0;
  for (const auto& [path, roles] : rows) width = std::max(width, path.size());
  for (const auto& [path, roles] : rows) {
    lines.push_back(path + std::string(width + 2 - path.size(), ' ') + roles);
  }
  if (t != nullptr && t->open_access) {
    lines.push_back("callers: none configured — every local caller acts in " +
                    absl::StrJoin(OfficeRoles(), ", ") + " (never engine_admin)");
  }
  return lines;
}

std::vector<std::string> Engine::MethodsWithoutPolicy() const {
  std::vector<std::string> none;
  auto t = table();
  if (t == nullptr) return none;
  for (const auto& [path, route] : t->methods) {
    if (!route.policy.declared) none.push_back(path);
  }
  std::sort(none.begin(), none.end());
  return none;
}

absl::StatusOr<sdk::host::Target> Engine::RouteInternal(
    const std::string& office, const std::string& method,
    const std::vector<std::string>& person_roles) {
  auto t = table();
  if (t == nullptr) return absl::UnavailableError("the engine is shutting down");
  return t->Route(office, method, person_roles);
}

absl::Status Engine::Index(
    const std::map<std::string, std::shared_ptr<const PluginImage>>& images,
    const google::protobuf::RepeatedPtrField<kaigo::v1::MethodAccessConfig>& access,
    RoutingTable* table) {
  std::vector<const google::protobuf::FileDescriptorSet*> sets;
  for (const auto& [name, image] : images) {
    sets.push_back(&image->files());
    auto& series = table->metrics_by_plugin[name];
    for (const auto& method : image->methods()) {
      auto [it, inserted] = table->methods.emplace(
          method.path, MethodRoute{method.service, method.server_streaming, {}});
      if (!inserted && it->second.server_streaming != method.server_streaming) {
        return absl::InvalidArgumentError("two plugins disagree on the streaming kind of " +
                                          method.path);
      }
      series[method.path] = metrics_.ForMethod(name, method.path);
    }
    std::lock_guard<std::mutex> lock(images_mu_);
    if (std::find(images_seen_.begin(), images_seen_.end(), image) == images_seen_.end()) {
      images_seen_.push_back(image);
      // The releases an image was built with (also in ListPlugins), once per image.
      logger_.Info("plugin image loaded", {{"plugin", name},
                                           {"version", image->version()},
                                           {"sdk_version", image->sdk_version()},
                                           {"api_release", image->api_release()},
                                           {"path", image->path()}});
    }
  }
  auto descriptors = DescriptorIndex::Build(EngineServiceNames(), sets);
  if (!descriptors.ok()) return descriptors.status();
  table->descriptors = *descriptors;
  auto policies = PoliciesOf(images, table->methods);
  if (absl::Status s = ApplyOverrides(access, &policies); !s.ok()) return s;
  for (auto& [path, route] : table->methods) route.policy = policies[path];
  return absl::OkStatus();
}

namespace {

using ImageMap = std::map<std::string, std::shared_ptr<const PluginImage>>;

bool Implements(const PluginImage& image, const std::string& service) {
  const auto& services = image.services();
  return std::find(services.begin(), services.end(), service) != services.end();
}

// Each binding's settings, mapped from YAML into its plugin's settings type now that the image
// says which it is, and stored serialized in the binding.
void MapSettings(const ImageMap& images, LoadedConfig* loaded, ConfigErrors* e) {
  for (auto& pending : loaded->settings) {
    auto* binding =
        loaded->config.mutable_offices(pending.office)->mutable_concerns(pending.binding);
    auto image = images.find(binding->plugin());
    if (image == images.end()) continue;  // its load failed, reported already
    const auto* type = image->second->config_type();
    if (type == nullptr) {
      if (!pending.node.IsNull()) {
        e->Add(pending.node.Mark(), pending.path,
               "plugin " + binding->plugin() + " takes no settings");
      }
      continue;
    }
    std::unique_ptr<google::protobuf::Message> message(
        image->second->factory()->GetPrototype(type)->New());
    YamlProtoMapper mapper(e);
    mapper.ResolvePathsAgainst(std::filesystem::path(pending.file).parent_path().string(),
                               loaded->root);
    mapper.Map(pending.node, pending.path, message.get());
    binding->set_settings(message->SerializeAsString());
  }
}

// The service each binding names must be one its plugin implements.
void CheckBindings(const LoadedConfig& loaded, const ImageMap& images, ConfigErrors* e) {
  const auto& config = loaded.config;
  for (int o = 0; o < config.offices_size(); ++o) {
    for (int b = 0; b < config.offices(o).concerns_size(); ++b) {
      const auto& binding = config.offices(o).concerns(b);
      auto image = images.find(binding.plugin());
      if (image == images.end() || Implements(*image->second, binding.service())) continue;
      std::string at = absl::StrCat("offices[", o, "].concerns[", b, "].service");
      e->Add(loaded.Where(at), at,
             "plugin " + binding.plugin() + " does not implement " + binding.service() +
                 " (it implements " + absl::StrJoin(image->second->services(), ", ") + ")");
    }
  }
}

// Who may call: each caller's offices, roles, delegation and certificate pin, the revocation list,
// and whether access is open (no callers configured).
void GrantCallers(const LoadedConfig& loaded, RoutingTable* table, ConfigErrors* e) {
  const auto& config = loaded.config;
  table->open_access = config.callers_size() == 0;
  for (const auto& caller : config.callers()) {
    CallerGrant grant;
    for (const auto& office : caller.offices()) {
      if (office == "*") {
        grant.all_offices = true;
      } else {
        grant.offices.insert(office);
      }
    }
    for (int r : caller.roles())
      grant.roles.push_back(RoleName(static_cast<kaigo::options::v1::Role>(r)));
    grant.delegate = caller.delegate();
    table->callers[caller.identity()] = std::move(grant);
    if (!caller.certificate_sha256().empty()) {
      table->verification.sha256_pins[caller.identity()] =
          absl::AsciiStrToLower(caller.certificate_sha256());
    }
  }
  if (const std::string& crl = config.server().tls().client_crl_file(); !crl.empty()) {
    std::ifstream in(loaded.Resolve(crl), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parsed = RevocationList::Parse(bytes);
    if (parsed.ok()) {
      table->verification.revoked = *parsed;
    } else {
      e->Add(loaded.Where("server.tls.client_crl_file"), "server.tls.client_crl_file",
             std::string(parsed.status().message()) + " (PEM or DER)");
    }
  }
}

// Points every binding at its plugin's metrics series (Index made them).
void LinkMetrics(RoutingTable* table) {
  for (auto& [number, office] : table->offices) {
    for (auto& [service, binding] : office.services) {
      binding.metrics = &table->metrics_by_plugin[binding.instance->image().name()];
    }
  }
}

}  // namespace

Engine::RoutedImages Engine::LoadImages(const LoadedConfig& loaded, const ImageSources& sources,
                                        ConfigErrors* e) {
  RoutedImages routed;
  const auto& config = loaded.config;
  for (int i = 0; i < config.plugins_size(); ++i) {
    const auto& source = config.plugins(i);
    std::string path = loaded.Resolve(source.path());
    std::string pin = source.sha256();
    auto swapped = overrides_.find(source.name());
    if (swapped != overrides_.end() && swapped->second.configured_path == path) {
      path = swapped->second.path;
      pin = swapped->second.sha256;
    }
    auto image = LoadImage(source, path, pin, sources);
    std::string at = absl::StrCat("plugins[", i, "].path");
    if (!image.ok()) {
      e->Add(loaded.Where(at), at, std::string(image.status().message()));
      continue;
    }
    routed.images[source.name()] = image->image;
    routed.processes[source.name()] = image->process;
  }
  return routed;
}

Engine::InstanceCounts Engine::MakeInstances(const LoadedConfig& loaded, const RoutedImages& routed,
                                             const RoutingTable* previous, RoutingTable* table,
                                             ConfigErrors* e) {
  const auto& config = loaded.config;
  std::map<std::string, kaigo::v1::OfficeConfig> previous_offices;
  if (previous != nullptr) {
    for (const auto& o : running_config_.offices()) previous_offices[o.number()] = o;
  }
  // An instance of `previous` serving the same service from the same image, settings, process
  // and secrets; null if there is none.
  auto reusable = [&](const kaigo::v1::OfficeConfig& office,
                      const kaigo::v1::ConcernBinding& binding,
                      const std::shared_ptr<const PluginImage>& image,
                      const std::shared_ptr<isolation::PluginProcess>& process) {
    std::shared_ptr<PluginInstance> none;
    if (previous == nullptr) return none;
    auto po = previous->offices.find(office.number());
    if (po == previous->offices.end()) return none;
    auto ps = po->second.services.find(binding.service());
    if (ps == po->second.services.end() || ps->second.instance->image_ptr() != image ||
        ps->second.instance->settings() != binding.settings() ||
        ps->second.instance->process() != process || !SameSecrets(office, previous_offices)) {
      return none;
    }
    return ps->second.instance;
  };
  InstanceCounts counts;
  SecretFileReads reads(loaded.dir);
  for (int o = 0; o < config.offices_size(); ++o) {
    const auto& office = config.offices(o);
    OfficeRoute route;
    route.number = office.number();
    route.name = office.name();
    for (int b = 0; b < office.concerns_size(); ++b) {
      const auto& binding = office.concerns(b);
      auto image_at = routed.images.find(binding.plugin());
      auto process_at = routed.processes.find(binding.plugin());
      const std::shared_ptr<const PluginImage> image =
          image_at == routed.images.end() ? nullptr : image_at->second;
      const std::shared_ptr<isolation::PluginProcess> process =
          process_at == routed.processes.end() ? nullptr : process_at->second;
      std::shared_ptr<PluginInstance> instance = reusable(office, binding, image, process);
      if (instance != nullptr) {
        ++counts.reused;
      } else {
        auto made = PluginInstance::Create(image, &env_, office, loaded.dir, binding.settings(),
                                           &reads, process);
        if (!made.ok()) {
          std::string at = absl::StrCat("offices[", o, "].concerns[", b, "]");
          e->Add(loaded.Where(at), at, std::string(made.status().message()));
          continue;
        }
        instance = *std::move(made);
        ++counts.created;
      }
      route.services[binding.service()] = ServiceBinding{std::move(instance), nullptr};
    }
    table->offices[office.number()] = std::move(route);
  }
  return counts;
}

absl::StatusOr<std::shared_ptr<const RoutingTable>> Engine::Build(
    LoadedConfig& loaded, ConfigErrors e, const ImageSources& sources,
    std::vector<std::string>* errors) {
  auto failed = [&] {
    *errors = e.list();
    return absl::InvalidArgumentError("the configuration has errors");
  };
  ValidateConfig(loaded, &e);
  if (!e.empty()) return failed();
  auto previous = table();
  RoutedImages routed = LoadImages(loaded, sources, &e);
  MapSettings(routed.images, &loaded, &e);
  CheckBindings(loaded, routed.images, &e);
  if (!e.empty()) return failed();

  auto table = std::make_shared<RoutingTable>();
  if (absl::Status indexed = Index(routed.images, loaded.config.access(), table.get());
      !indexed.ok()) {
    errors->push_back(std::string(indexed.message()));
    return indexed;
  }
  InstanceCounts counts = MakeInstances(loaded, routed, previous.get(), table.get(), &e);
  LinkMetrics(table.get());
  table->access_log = loaded.config.log().access_log();
  GrantCallers(loaded, table.get(), &e);
  if (!e.empty()) return failed();
  logger_.Info("routing table built", {{"offices", std::to_string(loaded.config.offices_size())},
                                       {"instances_created", std::to_string(counts.created)},
                                       {"instances_reused", std::to_string(counts.reused)}});
  return std::shared_ptr<const RoutingTable>(table);
}

absl::StatusOr<kaigo::v1::ReloadConfigResponse> Engine::Reload() {
  std::lock_guard<std::mutex> lock(change_mu_);
  ConfigErrors config_errors;
  LoadedConfig loaded = LoadConfig(config_path_, &config_errors);
  std::vector<std::string> errors = config_errors.list();
  if (loaded.parsed) {
    ImageSources sources = SourcesOf(loaded);
    auto table = Build(loaded, std::move(config_errors), sources, &errors);
    if (table.ok()) {
      kaigo::v1::ReloadConfigResponse response;
      response.set_offices(loaded.config.offices_size());
      using google::protobuf::util::MessageDifferencer;
      if (!MessageDifferencer::Equals(loaded.config.server(), running_config_.server())) {
        response.add_warnings("server settings changed; they take effect after a restart");
      }
      if (!MessageDifferencer::Equals(loaded.config.store(), running_config_.store())) {
        response.add_warnings("store settings changed; they take effect after a restart");
      }
      if (!MessageDifferencer::Equals(loaded.config.keys(), running_config_.keys()) ||
          !MessageDifferencer::Equals(loaded.config.audit(), running_config_.audit())) {
        response.add_warnings("keys or audit settings changed; they take effect after a restart");
      }
      if (OfficeSealingKeys(loaded.config) != OfficeSealingKeys(running_config_)) {
        response.add_warnings(
            "an office's sealing_key changed; it takes effect after a restart (until then the "
            "office's values are sealed as before)");
      }
      logger_.SetLevel(ParseLogLevel(loaded.config.log().level()).value_or(LogLevel::kInfo));
      kaigo::v1::ServerConfig server = running_config_.server();
      kaigo::v1::StoreConfig store = running_config_.store();
      kaigo::v1::KeysConfig keys = running_config_.keys();
      kaigo::v1::AuditConfig audit = running_config_.audit();
      sources_ = std::move(sources);
      running_config_ = std::move(loaded.config);
      *running_config_.mutable_server() = server;
      *running_config_.mutable_store() = store;
      *running_config_.mutable_keys() = keys;
      *running_config_.mutable_audit() = audit;
      Publish(*table);
      logger_.Info("configuration reloaded", {{"offices", std::to_string(response.offices())}});
      return response;
    }
  }
  std::string joined = absl::StrJoin(errors, "\n");
  logger_.Error("configuration reload refused; the running configuration stays",
                {{"errors", joined}});
  return absl::InvalidArgumentError("the new configuration was not applied:\n" + joined);
}

absl::StatusOr<kaigo::v1::SwapPluginResponse> Engine::Swap(
    const kaigo::v1::SwapPluginRequest& request) {
  std::lock_guard<std::mutex> lock(change_mu_);
  const kaigo::v1::PluginSource* source = nullptr;
  for (const auto& p : running_config_.plugins()) {
    if (p.name() == request.name()) source = &p;
  }
  if (source == nullptr) {
    return absl::NotFoundError("name: no plugin '" + request.name() + "' is configured");
  }
  if (request.path().empty()) {
    return sdk::InvalidField("path", "REQUIRED", "the new image's path must be set");
  }
  auto loaded =
      LoadImage(*source, ResolvePath(config_dir_, request.path()), request.sha256(), sources_);
  if (!loaded.ok()) return sdk::ForField(loaded.status(), "path", "PLUGIN_IMAGE");
  const std::shared_ptr<const PluginImage>* image = &loaded->image;

  // The running table with this plugin's instances replaced: nothing else changes, even if the
  // configuration file was edited since the last reload.
  auto previous = table();
  if (previous == nullptr) return absl::UnavailableError("the engine is shutting down");
  std::map<std::string, const kaigo::v1::OfficeConfig*> offices;
  for (const auto& o : running_config_.offices()) offices[o.number()] = &o;
  std::map<std::string, std::shared_ptr<const PluginImage>> images;
  auto next = std::make_shared<RoutingTable>();
  next->open_access = previous->open_access;
  next->callers = previous->callers;
  next->verification = previous->verification;
  next->access_log = previous->access_log;
  for (const auto& [number, office] : previous->offices) {
    OfficeRoute route{office.number, office.name, {}};
    for (const auto& [service, binding] : office.services) {
      std::shared_ptr<PluginInstance> instance = binding.instance;
      if (instance->image().name() == request.name()) {
        if (!Implements(**image, service)) {
          return absl::FailedPreconditionError("the new build of " + request.name() +
                                               " does not implement " + service +
                                               ", which office " + number + " uses");
        }
        auto made = PluginInstance::Create(*image, &env_, *offices.at(number), config_dir_,
                                           instance->settings(), nullptr, loaded->process);
        if (!made.ok()) return made.status();
        instance = *std::move(made);
      }
      images[instance->image().name()] = instance->image_ptr();
      route.services[service] = ServiceBinding{std::move(instance), nullptr};
    }
    next->offices[number] = std::move(route);
  }
  if (absl::Status indexed = Index(images, running_config_.access(), next.get()); !indexed.ok()) {
    return indexed;
  }
  LinkMetrics(next.get());
  // Later reloads keep the new build while the configuration names the old path.
  overrides_[request.name()] =
      SwapOverride{ResolvePath(config_dir_, source->path()), (*image)->path(), request.sha256()};
  std::shared_ptr<const RoutingTable> table = next;
  int moved = 0;
  for (const auto& [number, office] : table->offices) {
    for (const auto& [service, binding] : office.services) {
      if (binding.instance->image().name() == request.name()) ++moved;
    }
  }
  Publish(table);
  kaigo::v1::SwapPluginResponse response;
  auto* info = response.mutable_plugin();
  info->set_name((*image)->name());
  info->set_version((*image)->version());
  info->set_path((*image)->path());
  info->set_sha256((*image)->sha256());
  info->set_active(true);
  info->set_bindings(moved);
  response.set_bindings_moved(moved);
  logger_.Info("plugin swapped", {{"plugin", request.name()},
                                  {"version", (*image)->version()},
                                  {"path", (*image)->path()},
                                  {"bindings", std::to_string(moved)}});
  return response;
}

absl::StatusOr<Engine::RunnableImage> Engine::LoadImage(const kaigo::v1::PluginSource& source,
                                                        const std::string& path,
                                                        const std::string& pin,
                                                        const ImageSources& sources) {
  if (source.isolation() != kaigo::v1::ISOLATION_PROCESS) {
    auto image = loader_.Load(source.name(), path, pin, sources);
    if (!image.ok()) return image.status();
    return RunnableImage{*std::move(image), nullptr};
  }
  auto checked = loader_.Check(source.name(), path, pin, sources);
  if (!checked.ok()) return checked.status();
  const auto& [canonical, sha] = *checked;
  std::string key = canonical + "\n" + sha + "\n" + source.limits().SerializeAsString();
  Isolated& isolated = isolated_[key];
  if (auto running = isolated.process.lock()) return RunnableImage{isolated.image, running};
  auto process = StartPluginProcess(source.name(), canonical, sha, source.limits(), &env_);
  if (!process.ok()) return process.status();
  auto image = loader_.Describe(source.name(), canonical, sha, (*process)->manifest());
  if (!image.ok()) return image.status();
  isolated = Isolated{*process, *image};
  return RunnableImage{*std::move(image), *std::move(process)};
}

absl::StatusOr<kaigo::v1::ListPluginsResponse> Engine::ListPlugins(
    const kaigo::v1::ListPluginsRequest& request) const {
  auto t = table();
  std::map<const PluginImage*, int> bindings;
  std::map<const PluginImage*, const isolation::PluginProcess*> processes;
  if (t != nullptr) {
    for (const auto& [number, office] : t->offices) {
      for (const auto& [service, binding] : office.services) {
        ++bindings[&binding.instance->image()];
        if (binding.instance->process() != nullptr) {
          processes[&binding.instance->image()] = binding.instance->process().get();
        }
      }
    }
  }
  kaigo::v1::ListPluginsResponse response;
  std::lock_guard<std::mutex> lock(images_mu_);
  auto window = sdk::PageOf(request, images_seen_.size());  // in the order first loaded
  if (!window.ok()) return window.status();
  response.set_next_page_token(window->next_page_token);
  for (size_t i = window->begin; i < window->end; ++i) {
    const auto& image = images_seen_[i];
    auto* info = response.add_plugins();
    info->set_name(image->name());
    info->set_version(image->version());
    info->set_vendor(image->vendor());
    info->set_maturity(MaturityOf(image->status()));
    info->set_path(image->path());
    info->set_sha256(image->sha256());
    info->set_security_posture(image->security_posture());
    info->set_sdk_version(image->sdk_version());
    info->set_api_release(image->api_release());
    for (const auto& s : image->services()) info->add_services(s);
    info->set_bindings(bindings[image.get()]);
    info->set_active(bindings[image.get()] > 0);
    auto* runtime = info->mutable_runtime();
    auto process = processes.find(image.get());
    if (process == processes.end()) {
      runtime->set_isolation(kaigo::v1::ISOLATION_IN_PROCESS);
      runtime->set_state(bindings[image.get()] > 0 ? kaigo::v1::PLUGIN_STATE_RUNNING
                                                   : kaigo::v1::PLUGIN_STATE_UNUSED);
    } else {
      isolation::ProcessRuntime now = process->second->runtime();
      runtime->set_isolation(kaigo::v1::ISOLATION_PROCESS);
      runtime->set_state(bindings[image.get()] > 0 ? StateOf(now.state)
                                                   : kaigo::v1::PLUGIN_STATE_UNUSED);
      runtime->set_restarts(now.restarts);
      runtime->set_last_exit(now.last_exit);
      runtime->set_pid(now.pid);
    }
  }
  return response;
}

absl::StatusOr<kaigo::v1::ListOfficesResponse> Engine::ListOffices(
    const kaigo::v1::ListOfficesRequest& request) const {
  kaigo::v1::ListOfficesResponse response;
  auto t = table();
  std::vector<std::pair<std::string, const OfficeRoute*>> sorted;  // by office number
  if (t != nullptr) {
    for (const auto& [number, office] : t->offices) sorted.emplace_back(number, &office);
  }
  std::sort(sorted.begin(), sorted.end());
  auto window = sdk::PageOf(request, sorted.size());
  if (!window.ok()) return window.status();
  response.set_next_page_token(window->next_page_token);
  for (size_t i = window->begin; i < window->end; ++i) {
    const auto& [number, office] = sorted[i];
    auto* info = response.add_offices();
    info->set_number(number);
    info->set_name(office->name);
    std::map<std::string, const ServiceBinding*> services;
    for (const auto& [service, binding] : office->services) services[service] = &binding;
    for (const auto& [service, binding] : services) {
      auto* b = info->add_bindings();
      b->set_service(service);
      b->set_plugin(binding->instance->image().name());
      b->set_plugin_version(binding->instance->image().version());
    }
  }
  return response;
}

}  // namespace kaigo::engine
