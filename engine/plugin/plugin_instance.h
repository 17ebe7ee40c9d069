// One plugin instance serving one office, and the host services the engine lends it.
//
// An instance is shared: the routing table holds it and so does every call in flight. When the
// last holder lets go (after a reload or swap drained it), the plugin's destroy runs on the reaper
// thread, never on the thread that let go, which may be a gRPC callback thread.
// Thread-safe.
#ifndef KAIGO_ENGINE_PLUGIN_PLUGIN_INSTANCE_H_
#define KAIGO_ENGINE_PLUGIN_PLUGIN_INSTANCE_H_

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "engine/isolation/plugin_process.h"
#include "engine/log/json_logger.h"
#include "engine/metrics/metrics.h"
#include "engine/plugin/plugin_image.h"
#include "engine/store/store.h"
#include "kaigo/sdk/clock.h"
#include "kaigo/sdk/internal/host_side.h"
#include "kaigo/v1/config.pb.h"

namespace kaigo::engine {

// Finds the plugin instance that serves `method` for `office` now (for calls between concerns),
// if the method's policy admits a call from another concern for a person acting in
// `person_roles` (empty: the plugin acts on its own, outside any call).
class CallRouter {
 public:
  virtual ~CallRouter() = default;
  virtual absl::StatusOr<sdk::host::Target> RouteInternal(
      const std::string& office, const std::string& method,
      const std::vector<std::string>& person_roles) = 0;
};

// What every instance's host services use; owned by the engine, which must outlive all instances:
// it waits with AwaitNoInstances before it lets go of them.
struct HostEnvironment {
  Store* store = nullptr;
  Metrics* metrics = nullptr;
  JsonLogger* logger = nullptr;
  CallRouter* router = nullptr;
  const Clock* clock = nullptr;  // business dates and stored timestamps (kaigo/sdk/clock.h)
  // keys.recipient_ref, lent to every instance as the secret sdk::kRecipientRefSecret.
  std::string recipient_ref_key;

  // Waits (up to `timeout`) until every instance created with this environment is destroyed.
  bool AwaitNoInstances(std::chrono::milliseconds timeout);

 private:
  friend class PluginInstance;
  std::mutex live_mu;
  std::condition_variable none_live;
  int live = 0;
};

// Secret files read while one configuration load creates its instances. Thousands of offices
// often name the same few files (the platform's CA, a shared password file): each is read once
// per load instead of once per office, and forgotten with the load. Thread-safe.
class SecretFileReads {
 public:
  // For instances whose configuration directory is `config_dir`.
  explicit SecretFileReads(std::string config_dir) : config_dir_(std::move(config_dir)) {}
  const std::string& config_dir() const { return config_dir_; }

  // The secret in `file` (as written in the configuration) as SecretGet passes it on; nullopt
  // when the file cannot be read.
  std::optional<std::string> Read(const std::string& file);

 private:
  const std::string config_dir_;
  std::mutex mu_;
  std::map<std::string, std::optional<std::string>> files_;
};

// Starts the child process that runs the instances of the image at `path` (checked, with that
// SHA-256) with `isolation: process`; it reports the image's manifest.
absl::StatusOr<std::shared_ptr<isolation::PluginProcess>> StartPluginProcess(
    const std::string& name, const std::string& path, const std::string& sha256,
    const kaigo::v1::ProcessLimits& limits, HostEnvironment* env);

class PluginInstance {
 public:
  // Creates the plugin's instance for `office` with serialized `settings`, in `process` when
  // given, else in this process. Secret files the plugin reads while it starts come from `reads`
  // when given (for the same `config_dir`).
  static absl::StatusOr<std::shared_ptr<PluginInstance>> Create(
      std::shared_ptr<const PluginImage> image, HostEnvironment* env,
      const kaigo::v1::OfficeConfig& office, std::string config_dir, std::string settings,
      SecretFileReads* reads = nullptr,
      std::shared_ptr<isolation::PluginProcess> process = nullptr);
  ~PluginInstance();
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  const PluginImage& image() const { return *image_; }
  const std::shared_ptr<const PluginImage>& image_ptr() const { return image_; }
  const std::string& office() const { return office_; }
  const std::string& settings() const { return settings_; }
  // The child process the instance runs in, or null when it runs in the engine's.
  const std::shared_ptr<isolation::PluginProcess>& process() const { return process_; }

  // A call target that keeps this instance alive while the call runs.
  static sdk::host::Target TargetOf(const std::shared_ptr<PluginInstance>& instance);

 private:
  friend struct EngineHostApi;
  PluginInstance() = default;

  std::shared_ptr<const PluginImage> image_;
  HostEnvironment* env_ = nullptr;
  std::string office_;
  std::string config_dir_;
  std::string settings_;
  std::map<std::string, kaigo::v1::SecretRef> secrets_;
  // Set only while the plugin's create runs; the lock lets Create take it back from a plugin
  // thread still reading a secret.
  std::mutex reads_mu_;
  SecretFileReads* reads_ = nullptr;
  kaigo_instance* instance_ = nullptr;
  std::shared_ptr<isolation::PluginProcess> process_;
  uint64_t remote_ = 0;  // the instance's id in process_
};

// Runs plugin destroy calls on a thread of their own.
void DestroyLater(PluginInstance* instance);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_PLUGIN_PLUGIN_INSTANCE_H_
