#include "engine/plugin/plugin_image.h"

#include <dlfcn.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kaigo/sdk/api_release.h"
#include "kaigo/sdk/internal/manifest_check.h"

namespace kaigo::engine {

namespace {

// The files libkaigo_proto holds (KAIGO_PUBLIC_PROTOS, from the build), protobuf's well-known
// types and gRPC's: every other file in a manifest is compiled into the plugin's own image.
bool IsEngineFile(const std::string& name) {
  static const std::set<std::string> public_protos = [] {
    std::set<std::string> out;
    std::string list = KAIGO_PUBLIC_PROTOS;
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(',', start);
      if (end == std::string::npos) end = list.size();
      if (end > start) out.insert(list.substr(start, end - start));
      start = end + 1;
    }
    return out;
  }();
  return public_protos.count(name) != 0 || name.rfind("google/protobuf/", 0) == 0 ||
         name.rfind("grpc/", 0) == 0;
}

constexpr std::string_view kEngine = "this engine";

// Owned by root or the engine's user, writable by nobody else.
absl::Status CheckOwnership(const std::string& path, const char* what) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    return absl::NotFoundError(std::string(what) + " not found: " + path);
  if (st.st_uid != 0 && st.st_uid != geteuid()) {
    return absl::PermissionDeniedError(absl::StrCat("refusing ", path, ": owned by uid ", st.st_uid,
                                                    ", not root or the engine's user"));
  }
  if ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != 0)) {
    return absl::PermissionDeniedError("refusing " + path + ": writable by others than its owner");
  }
  return absl::OkStatus();
}

// `canonical` below one of `sources.dirs`, and it and the directories down to it safe.
absl::Status CheckSource(const std::string& canonical, const ImageSources& sources) {
  namespace fs = std::filesystem;
  for (const auto& dir : sources.dirs) {
    std::string prefix = dir.back() == '/' ? dir : dir + "/";
    if (canonical.rfind(prefix, 0) != 0) continue;
    if (absl::Status s = CheckOwnership(dir, "plugin directory"); !s.ok()) return s;
    fs::path relative = fs::path(canonical).lexically_relative(dir);
    fs::path walk = dir;
    for (const auto& part : relative) {
      walk /= part;
      const char* what = walk == fs::path(canonical) ? "plugin file" : "plugin directory";
      if (absl::Status s = CheckOwnership(walk.string(), what); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError("refusing " + canonical +
                                     ": not in a plugin directory of this engine (" +
                                     absl::StrJoin(sources.dirs, ", ") + ")");
}

}  // namespace

absl::StatusOr<std::string> FileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot read " + path);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) EVP_DigestUpdate(ctx, buf, in.gcount());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(ctx, digest, &size);
  EVP_MD_CTX_free(ctx);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), size));
}

absl::StatusOr<std::string> PluginLoader::Allowed(const std::string& path,
                                                  const std::string& sha256_pin,
                                                  const ImageSources& sources) {
  std::error_code ec;
  std::string canonical = std::filesystem::canonical(path, ec).string();
  if (ec) return absl::NotFoundError("plugin file not found: " + path);
  if (sources.require_pins && sha256_pin.empty()) {
    return absl::PermissionDeniedError("refusing " + canonical +
                                       ": this engine loads only pinned images (sha256)");
  }
  if (absl::Status s = CheckSource(canonical, sources); !s.ok()) return s;
  return canonical;
}

absl::StatusOr<std::string> PluginLoader::PinnedSha256(const std::string& canonical,
                                                       const std::string& sha256_pin) {
  auto sha = FileSha256(canonical);
  if (!sha.ok()) return sha.status();
  if (!sha256_pin.empty() && *sha != sha256_pin) {
    return absl::PermissionDeniedError(
        absl::StrCat(canonical, " has SHA-256 ", *sha, ", not the pinned ", sha256_pin));
  }
  return sha;
}

absl::StatusOr<std::pair<std::string, std::string>> PluginLoader::Check(
    const std::string& name, const std::string& path, const std::string& sha256_pin,
    const ImageSources& sources) {
  auto canonical = Allowed(path, sha256_pin, sources);
  if (!canonical.ok()) return canonical.status();
  auto sha = PinnedSha256(*canonical, sha256_pin);
  if (!sha.ok()) return sha.status();
  if (absl::Status s = sdk::CheckLinkedApiRelease(name, *canonical, kEngine); !s.ok()) return s;
  return std::make_pair(*canonical, *sha);
}

absl::StatusOr<std::shared_ptr<const PluginImage>> PluginLoader::Cached(
    const std::string& name, const std::string& canonical, const std::string& sha256_pin) const {
  auto cached = by_path_.find(canonical);
  if (cached == by_path_.end()) return nullptr;
  if (cached->second->name() != name) {
    return absl::InvalidArgumentError(canonical + " is plugin '" + cached->second->name() +
                                      "', not '" + name + "'");
  }
  if (!sha256_pin.empty() && cached->second->sha256() != sha256_pin) {
    return absl::PermissionDeniedError(canonical + " does not have the pinned SHA-256");
  }
  return cached->second;
}

absl::Status PluginLoader::CheckLoadable(const std::string& name,
                                         const std::string& canonical) const {
  auto own = own_files_by_plugin_.find(name);
  if (own != own_files_by_plugin_.end() && !own->second.empty()) {
    return absl::FailedPreconditionError(
        "plugin '" + name + "' compiles its own proto files (" + absl::StrJoin(own->second, ", ") +
        ") into its image; protobuf cannot register them twice in one process, so a new build "
        "of it needs an engine restart (or `isolation: process`)");
  }
  return sdk::CheckLinkedApiRelease(name, canonical, kEngine);
}

absl::Status PluginLoader::Open(PluginImage* image) {
  const std::string& canonical = image->path_;
  boost::system::error_code load_error;
  image->library_.load(boost::dll::fs::path(canonical),
                       boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local,
                       load_error);
  if (load_error) {
    return absl::InvalidArgumentError("cannot load " + canonical + ": " + load_error.message());
  }
  // Never unloaded, not even when the loader is destroyed: threads and objects of the image may
  // outlive every instance (Boost.DLL 1.74 has no nodelete mode; glibc promotes a loaded image).
  if (void* pinned = dlopen(canonical.c_str(), RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE)) {
    dlclose(pinned);
  }
  if (!image->library_.has(KAIGO_PLUGIN_ENTRY_SYMBOL)) {
    return absl::InvalidArgumentError(canonical + " exports no " KAIGO_PLUGIN_ENTRY_SYMBOL);
  }
  auto entry = image->library_.get<const kaigo_plugin_api*(uint32_t)>(KAIGO_PLUGIN_ENTRY_SYMBOL);
  const kaigo_plugin_api* api = entry(KAIGO_ABI_VERSION);
  if (absl::Status s = sdk::internal::CheckPluginTable(api); !s.ok()) {
    return absl::FailedPreconditionError(canonical + ": " + std::string(s.message()));
  }
  image->api_ = api;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const PluginImage>> PluginLoader::Load(const std::string& name,
                                                                      const std::string& path,
                                                                      const std::string& sha256_pin,
                                                                      const ImageSources& sources) {
  auto allowed = Allowed(path, sha256_pin, sources);
  if (!allowed.ok()) return allowed.status();
  const std::string& canonical = *allowed;
  std::lock_guard<std::mutex> lock(mu_);
  auto cached = Cached(name, canonical, sha256_pin);
  if (!cached.ok() || *cached != nullptr) return cached;
  auto sha = PinnedSha256(canonical, sha256_pin);
  if (!sha.ok()) return sha.status();
  if (absl::Status s = CheckLoadable(name, canonical); !s.ok()) return s;

  auto image = std::make_shared<PluginImage>();
  image->path_ = canonical;
  image->sha256_ = *sha;
  if (absl::Status s = Open(image.get()); !s.ok()) return s;
  isolation::ImageManifest manifest = sdk::internal::ReadManifest(*image->api_->manifest);
  if (absl::Status s = sdk::CheckManifestApiRelease(name, manifest.api_release, kEngine); !s.ok()) {
    return s;
  }
  if (absl::Status filled = Fill(name, manifest, image.get()); !filled.ok()) return filled;
  own_files_by_plugin_[name] = image->own_files_;
  by_path_[canonical] = image;
  return std::shared_ptr<const PluginImage>(image);
}

absl::StatusOr<std::shared_ptr<const PluginImage>> PluginLoader::Describe(
    const std::string& name, const std::string& canonical, const std::string& sha256,
    const isolation::ImageManifest& manifest) {
  auto image = std::make_shared<PluginImage>();
  image->path_ = canonical;
  image->sha256_ = sha256;
  if (absl::Status filled = Fill(name, manifest, image.get()); !filled.ok()) return filled;
  return std::shared_ptr<const PluginImage>(image);
}

absl::Status PluginLoader::Fill(const std::string& name, const isolation::ImageManifest& m,
                                PluginImage* image) {
  const std::string& canonical = image->path_;
  image->name_ = m.name;
  image->version_ = m.version;
  image->vendor_ = m.vendor;
  image->status_ = m.status;
  image->security_posture_ = m.security_posture;
  image->sdk_version_ = m.sdk_version;
  image->api_release_ = m.api_release;
  if (image->name_ != name) {
    return absl::InvalidArgumentError(canonical + " is plugin '" + image->name_ + "', not '" +
                                      name + "'");
  }
  sdk::internal::CheckedManifest checked = sdk::internal::CheckManifest(m);
  if (!checked.status.ok()) {
    return absl::InvalidArgumentError(canonical + ": " + std::string(checked.status.message()));
  }
  image->files_ = std::move(checked.files);
  image->pool_ = std::move(checked.pool);
  image->config_type_ = checked.config_type;
  for (const auto& file : image->files_.file()) {
    if (!IsEngineFile(file.name())) image->own_files_.insert(file.name());
  }
  image->calls_.insert(m.calls.begin(), m.calls.end());
  image->services_ = m.services;
  for (auto& method : checked.methods) {
    image->methods_.push_back(
        MethodInfo{std::move(method.path), std::move(method.service), method.server_streaming});
  }
  image->factory_ = std::make_unique<google::protobuf::DynamicMessageFactory>(image->pool_.get());
  return absl::OkStatus();
}

}  // namespace kaigo::engine
