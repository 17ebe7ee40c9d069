#include "kaigo/sdk/internal/manifest_check.h"

#include <regex>
#include <set>

namespace kaigo::sdk::internal {

namespace {

std::string Str(const char* s) { return s == nullptr ? "" : s; }

// Applies rules in order, remembering the first one broken.
class Findings {
 public:
  explicit Findings(const std::function<void(const ManifestFinding&)>& report) : report_(report) {}

  bool Apply(bool passed, std::string rule, std::string failure) {
    if (!passed && first_failure_.ok()) first_failure_ = absl::InvalidArgumentError(failure);
    if (report_) report_(ManifestFinding{passed, std::move(rule), std::move(failure)});
    return passed;
  }
  const absl::Status& first_failure() const { return first_failure_; }

 private:
  const std::function<void(const ManifestFinding&)>& report_;
  absl::Status first_failure_;
};

void CheckFields(const ImageManifest& m, Findings& findings) {
  static const std::regex kName("[a-z0-9_]+");
  static const std::regex kVersion("[0-9]+\\.[0-9]+\\.[0-9]+.*");
  static const std::set<std::string> kStatuses = {"stable", "alpha", "experimental"};
  findings.Apply(std::regex_match(m.name, kName), "manifest name '" + m.name + "' is [a-z0-9_]+",
                 "the manifest's name '" + m.name + "' is not [a-z0-9_]+");
  findings.Apply(std::regex_match(m.version, kVersion),
                 "manifest version '" + m.version + "' is a semantic version",
                 "the manifest's version '" + m.version + "' is not a semantic version");
  findings.Apply(kStatuses.count(m.status) > 0,
                 "manifest status '" + m.status + "' is stable, alpha or experimental",
                 "the manifest's status '" + m.status + "' is not stable, alpha or experimental");
  findings.Apply(!m.services.empty(),
                 "manifest lists " + std::to_string(m.services.size()) + " service(s)",
                 "the manifest lists no service");
}

bool BuildDescriptors(const ImageManifest& m, Findings& findings, CheckedManifest& out) {
  bool parsed = out.files.ParseFromString(m.file_descriptor_set);
  findings.Apply(
      parsed, "the FileDescriptorSet parses (" + std::to_string(out.files.file_size()) + " files)",
      "the manifest's descriptors do not parse");
  if (!parsed) return false;
  out.pool = std::make_unique<google::protobuf::DescriptorPool>();
  bool built = true;
  for (const auto& file : out.files.file()) {
    if (out.pool->BuildFile(file) != nullptr) continue;
    findings.Apply(false, "descriptor file " + file.name() + " builds",
                   "descriptor file " + file.name() + " does not build (missing dependency?)");
    built = false;
  }
  return built;
}

void CheckServices(const ImageManifest& m, Findings& findings, CheckedManifest& out) {
  for (const std::string& service : m.services) {
    const auto* s = out.pool->FindServiceByName(service);
    if (!findings.Apply(s != nullptr, "service " + service + " is declared in the descriptors",
                        "service " + service + " is not in the manifest's descriptors")) {
      continue;
    }
    for (int j = 0; j < s->method_count(); ++j) {
      const auto* method = s->method(j);
      std::string path = "/" + service + "/" + method->name();
      if (method->client_streaming()) {
        findings.Apply(false, path + " is not client-streaming",
                       path + " is client-streaming, which the ABI does not carry");
        continue;
      }
      out.methods.push_back(CheckedMethod{path, service, method->server_streaming()});
    }
  }
  if (m.config_type.empty()) return;
  out.config_type = out.pool->FindMessageTypeByName(m.config_type);
  findings.Apply(out.config_type != nullptr,
                 "config type " + m.config_type + " is declared in the descriptors",
                 "config type " + m.config_type + " is not in the manifest's descriptors");
}

}  // namespace

absl::Status CheckPluginTable(const kaigo_plugin_api* api) {
  if (api == nullptr) {
    return absl::FailedPreconditionError(
        "kaigo_plugin_entry(1) returned no table: the plugin does not speak ABI version 1");
  }
  // Every field up to call_cancel, not sizeof(kaigo_plugin_api): the table grows by appending,
  // and a plugin built with an older plugin.h has a smaller one.
  if (api->abi_version != KAIGO_ABI_VERSION ||
      !KAIGO_HAS_FIELD(api, kaigo_plugin_api, call_cancel)) {
    return absl::FailedPreconditionError(
        "the plugin table (ABI version " + std::to_string(api->abi_version) + ", size " +
        std::to_string(api->struct_size) + ") is not one of ABI version 1 with every field up to " +
        "call_cancel");
  }
  if (api->manifest == nullptr || !KAIGO_HAS_FIELD(api->manifest, kaigo_manifest, config_type)) {
    return absl::FailedPreconditionError("the plugin table has no complete manifest");
  }
  return absl::OkStatus();
}

ImageManifest ReadManifest(const kaigo_manifest& m) {
  ImageManifest out;
  out.name = Str(m.name);
  out.version = Str(m.version);
  out.vendor = Str(m.vendor);
  out.status = Str(m.status);
  out.security_posture = Str(m.security_posture);
  out.config_type = Str(m.config_type);
  for (size_t i = 0; m.services != nullptr && i < m.service_count; ++i) {
    out.services.push_back(Str(m.services[i]));
  }
  if (m.file_descriptor_set.data != nullptr) {
    out.file_descriptor_set = std::string(reinterpret_cast<const char*>(m.file_descriptor_set.data),
                                          m.file_descriptor_set.size);
  }
  if (KAIGO_HAS_FIELD(&m, kaigo_manifest, call_count)) {
    for (size_t i = 0; m.calls != nullptr && i < m.call_count; ++i) {
      out.calls.push_back(Str(m.calls[i]));
    }
  }
  if (KAIGO_HAS_FIELD(&m, kaigo_manifest, api_release)) {
    out.sdk_version = Str(m.sdk_version);
    out.api_release = Str(m.api_release);
  }
  return out;
}

CheckedManifest CheckManifest(const ImageManifest& manifest,
                              const std::function<void(const ManifestFinding&)>& report) {
  CheckedManifest out;
  Findings findings(report);
  CheckFields(manifest, findings);
  out.descriptors_built = BuildDescriptors(manifest, findings, out);
  if (out.descriptors_built) CheckServices(manifest, findings, out);
  out.status = findings.first_failure();
  return out;
}

}  // namespace kaigo::sdk::internal
