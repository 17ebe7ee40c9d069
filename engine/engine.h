// The engine: turns a configuration into a routing table of plugin instances, serves it (see
// server/), and changes it while running — reload (SIGHUP or admin call) and plugin swap. Either
// builds a complete new table first and publishes it only if every office's every plugin started;
// a bad configuration never replaces a running good one. Instances whose image and settings did
// not change are carried over, so a reload does not reset offices it did not touch.
//
// Thread-safe. Reload and Swap are serialized and block (loading images, creating instances):
// call them off gRPC callback threads.
#ifndef KAIGO_ENGINE_ENGINE_H_
#define KAIGO_ENGINE_ENGINE_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/config/config_loader.h"
#include "engine/log/json_logger.h"
#include "engine/metrics/metrics.h"
#include "engine/plugin/plugin_image.h"
#include "engine/plugin/plugin_instance.h"
#include "engine/router/call_limiter.h"
#include "engine/router/routing_table.h"
#include "engine/store/sealing_store.h"
#include "engine/store/store.h"
#include "kaigo/v1/engine.pb.h"

namespace kaigo::engine {

// The services the engine itself serves, for reflection.
const std::vector<std::string>& EngineServiceNames();

class Engine : public CallRouter {
 public:
  // Loads and applies the configuration; on failure the errors name file:line:column and path.
  // With `check_only` the store is kept in memory, so checking writes no file. `clock_offset`
  // moves the engine's clock (kaigo/sdk/clock.h) for tests; it is refused unless every listener is
  // on loopback, so no production configuration can move it.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(
      const std::string& config_path, std::vector<std::string>* errors, bool check_only = false,
      const std::string& root = "", absl::Duration clock_offset = absl::ZeroDuration());
  // Validates a configuration as Create would (plugins loaded and started), then discards it.
  // `root`: check a staged tree, absolute paths in the file taken below it.
  static std::vector<std::string> CheckConfig(const std::string& config_path,
                                              const std::string& root = "");

  ~Engine() override;

  std::shared_ptr<const RoutingTable> table() const;
  const kaigo::v1::EngineConfig& running_config() const { return running_config_; }
  const std::string& config_dir() const { return config_dir_; }

  absl::StatusOr<kaigo::v1::ReloadConfigResponse> Reload();
  absl::StatusOr<kaigo::v1::SwapPluginResponse> Swap(const kaigo::v1::SwapPluginRequest& request);
  absl::StatusOr<kaigo::v1::ListPluginsResponse> ListPlugins(
      const kaigo::v1::ListPluginsRequest& request) const;
  // The access policy in force, one line per method ("/pkg.Service/Method  roles  (source)"),
  // EngineAdminService included; and the served methods nobody may call (no policy).
  std::vector<std::string> AccessTable() const;
  std::vector<std::string> MethodsWithoutPolicy() const;
  absl::StatusOr<kaigo::v1::ListOfficesResponse> ListOffices(
      const kaigo::v1::ListOfficesRequest& request) const;

  absl::StatusOr<sdk::host::Target> RouteInternal(
      const std::string& office, const std::string& method,
      const std::vector<std::string>& person_roles) override;

  JsonLogger& logger() { return logger_; }
  Metrics& metrics() { return metrics_; }
  Store& store() { return *store_; }
  const Clock& clock() const { return clock_; }
  // Calls in flight per office and caller (server.call_limits, fixed at start).
  CallLimiter& limiter() { return *limiter_; }

 private:
  Engine() = default;

  // A swap outlives reloads while the configuration still names the plugin's old path.
  struct SwapOverride {
    std::string configured_path;
    std::string path;
    std::string sha256;
  };

  // `e` holds the errors of loading; Build adds its own and fails if there are any. Images load
  // only from `sources` (the configuration's, kept as sources_ once it runs).
  absl::StatusOr<std::shared_ptr<const RoutingTable>> Build(LoadedConfig& loaded, ConfigErrors e,
                                                            const ImageSources& sources,
                                                            std::vector<std::string>* errors);
  // Fills the table's methods, metrics series and descriptor index from the routed images.
  // `access` is the configuration's policy overrides.
  absl::Status Index(
      const std::map<std::string, std::shared_ptr<const PluginImage>>& images,
      const google::protobuf::RepeatedPtrField<kaigo::v1::MethodAccessConfig>& access,
      RoutingTable* table);
  void Publish(std::shared_ptr<const RoutingTable> table);
  // Serves kaigo_audit_chain_length, writes the keyed marker if the chain was unkeyed, and logs
  // the chain's head now and every audit.head_log_interval_seconds, so it can be anchored outside.
  void StartAuditHead(const std::string& audit_key_id);
  // Logs what sealing the store at start did (values it found in clear).
  void LogReseal(const ResealCounts& counts);
  // An image and, with `isolation: process`, the child process it runs in (one per image and
  // limits, shared by its instances across reloads; the engine never loads such an image).
  struct RunnableImage {
    std::shared_ptr<const PluginImage> image;
    std::shared_ptr<isolation::PluginProcess> process;  // null: in the engine's process
  };
  absl::StatusOr<RunnableImage> LoadImage(const kaigo::v1::PluginSource& source,
                                          const std::string& path, const std::string& pin,
                                          const ImageSources& sources);

  // Build's parts. Errors go to `e`, each with its field's path and place in the files.
  struct RoutedImages {
    std::map<std::string, std::shared_ptr<const PluginImage>> images;            // by plugin
    std::map<std::string, std::shared_ptr<isolation::PluginProcess>> processes;  // by plugin
  };
  // Every configured plugin's image; a swapped build while the configuration names the path it
  // was swapped from.
  RoutedImages LoadImages(const LoadedConfig& loaded, const ImageSources& sources, ConfigErrors* e);
  struct InstanceCounts {
    int created = 0;
    int reused = 0;
  };
  // The table's offices: an instance per binding, reused from `previous` (null at start) when
  // image, settings, process and the office's secrets are unchanged. Metrics are not linked yet.
  InstanceCounts MakeInstances(const LoadedConfig& loaded, const RoutedImages& routed,
                               const RoutingTable* previous, RoutingTable* table, ConfigErrors* e);

  std::string config_path_;
  std::string config_dir_;
  kaigo::v1::EngineConfig running_config_;
  Clock clock_;
  std::unique_ptr<CallLimiter> limiter_;
  JsonLogger logger_;
  Metrics metrics_;
  std::unique_ptr<Store> store_;
  std::mutex audit_head_mu_;
  std::condition_variable audit_head_wake_;
  bool audit_head_stopping_ = false;  // guarded by audit_head_mu_
  std::thread audit_head_thread_;
  PluginLoader loader_;
  HostEnvironment env_;

  mutable std::mutex change_mu_;  // serializes Reload and Swap; guards the members below
  std::map<std::string, SwapOverride> overrides_;
  // Isolated images by path, SHA-256 and limits, while their process runs.
  struct Isolated {
    std::weak_ptr<isolation::PluginProcess> process;
    std::shared_ptr<const PluginImage> image;
  };
  std::map<std::string, Isolated> isolated_;
  ImageSources sources_;  // where the running configuration lets images come from
  // Every image ever routed, for ListPlugins (images are never unloaded). Its own mutex: admin
  // listings run on gRPC threads and must not wait for a reload.
  mutable std::mutex images_mu_;
  std::vector<std::shared_ptr<const PluginImage>> images_seen_;

  mutable std::mutex table_mu_;
  std::shared_ptr<const RoutingTable> table_;
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_ENGINE_H_
