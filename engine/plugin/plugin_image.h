// A loaded plugin image (.so): its ABI table, manifest and descriptors.
//
// Images are loaded with Boost.DLL (RTLD_NOW | RTLD_LOCAL) and never unloaded: objects and
// protobuf descriptors from an image may outlive any instance. A second build of a plugin must
// come from a different path. A plugin that compiled its own .proto files into the image cannot
// be loaded twice in one process (protobuf aborts on a duplicate file); the loader refuses that
// before calling dlopen. So it does an image that links another release of libkaigo_proto (its
// DT_NEEDED names another SONAME), and, once loaded, one whose manifest names another API
// release (kaigo/sdk/api_release.h); the message names both releases.
//
// PluginImage is immutable after loading; PluginLoader is thread-safe.
#ifndef KAIGO_ENGINE_PLUGIN_PLUGIN_IMAGE_H_
#define KAIGO_ENGINE_PLUGIN_PLUGIN_IMAGE_H_

#include <boost/dll/shared_library.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/isolation/plugin_process.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "kaigo/plugin.h"

namespace kaigo::engine {

struct MethodInfo {
  std::string path;  // "/kaigo.v1.OtpService/RequestOtp"
  std::string service;
  bool server_streaming = false;
};

class PluginImage {
 public:
  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  const std::string& vendor() const { return vendor_; }
  const std::string& status() const { return status_; }
  const std::string& security_posture() const { return security_posture_; }
  // The kaigo SDK and API release the image was built with; empty if its manifest does not say.
  const std::string& sdk_version() const { return sdk_version_; }
  const std::string& api_release() const { return api_release_; }
  const std::string& path() const { return path_; }
  const std::string& sha256() const { return sha256_; }
  // The image's table; null for an isolated image, which the engine never loads.
  const kaigo_plugin_api* api() const { return api_; }
  const std::vector<std::string>& services() const { return services_; }
  const std::vector<MethodInfo>& methods() const { return methods_; }
  const google::protobuf::FileDescriptorSet& files() const { return files_; }
  // Files of the manifest outside the engine's reserved paths.
  const std::set<std::string>& own_files() const { return own_files_; }
  // Methods of other concerns the manifest says the plugin calls (full paths).
  bool Calls(const std::string& method) const { return calls_.count(method) > 0; }
  // The settings message type, or nullptr when the plugin takes none.
  const google::protobuf::Descriptor* config_type() const { return config_type_; }
  // Builds empty messages of the image's own types (settings).
  google::protobuf::DynamicMessageFactory* factory() const { return factory_.get(); }

 private:
  friend class PluginLoader;
  boost::dll::shared_library library_;
  const kaigo_plugin_api* api_ = nullptr;
  std::string name_, version_, vendor_, status_, security_posture_, path_, sha256_;
  std::string sdk_version_, api_release_;
  std::vector<std::string> services_;
  std::vector<MethodInfo> methods_;
  google::protobuf::FileDescriptorSet files_;
  std::set<std::string> own_files_;
  std::set<std::string> calls_;
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory_;
  const google::protobuf::Descriptor* config_type_ = nullptr;
};

// Where images may come from, checked before a byte of one is loaded (dlopen runs the image's
// constructors): below one of `dirs` (canonical), the file and every directory from that plugin
// directory down to it owned by root or the engine's user and writable by nobody else; with
// `require_pins`, only with a SHA-256 pin.
struct ImageSources {
  std::vector<std::string> dirs;
  bool require_pins = false;
};

class PluginLoader {
 public:
  // Loads (or returns the already loaded) image at `path` if `sources` allow it, checks the pin,
  // the manifest and the descriptors, and that its manifest name is `name`.
  absl::StatusOr<std::shared_ptr<const PluginImage>> Load(const std::string& name,
                                                          const std::string& path,
                                                          const std::string& sha256_pin,
                                                          const ImageSources& sources);
  // The checks of Load without loading: the canonical path and SHA-256 of an image `sources`
  // allow, the pin matches and that links this build's libkaigo_proto, if any.
  absl::StatusOr<std::pair<std::string, std::string>> Check(const std::string& name,
                                                            const std::string& path,
                                                            const std::string& sha256_pin,
                                                            const ImageSources& sources);
  // An isolated image, described by the manifest its own process reported (PluginProcess);
  // never loaded here, so any number of builds of it may run.
  absl::StatusOr<std::shared_ptr<const PluginImage>> Describe(
      const std::string& name, const std::string& canonical, const std::string& sha256,
      const isolation::ImageManifest& manifest);

 private:
  // `path` canonical, if `sources` allow it.
  static absl::StatusOr<std::string> Allowed(const std::string& path, const std::string& sha256_pin,
                                             const ImageSources& sources);
  static absl::StatusOr<std::string> PinnedSha256(const std::string& canonical,
                                                  const std::string& sha256_pin);
  // The image already loaded from `canonical`, if it is plugin `name` with the pin; null if none.
  absl::StatusOr<std::shared_ptr<const PluginImage>> Cached(const std::string& name,
                                                            const std::string& canonical,
                                                            const std::string& sha256_pin) const;
  // Before dlopen: refuses a second build of a plugin with its own proto files, and an image
  // linking another libkaigo_proto.
  absl::Status CheckLoadable(const std::string& name, const std::string& canonical) const;
  // dlopen (for good) and the entry point's table, checked; sets image->api_.
  static absl::Status Open(PluginImage* image);
  // Fills an image's manifest fields and descriptors; checks that it is plugin `name`.
  static absl::Status Fill(const std::string& name, const isolation::ImageManifest& manifest,
                           PluginImage* image);
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const PluginImage>> by_path_;
  // Plugin name → the own proto files its loaded image registered.
  std::map<std::string, std::set<std::string>> own_files_by_plugin_;
};

// Hex SHA-256 of a file's content.
absl::StatusOr<std::string> FileSha256(const std::string& path);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_PLUGIN_PLUGIN_IMAGE_H_
