#include "engine/config/config_loader.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/log/json_logger.h"
#include "kaigo/identifiers.h"
#include "kaigo/sdk/host_services.h"
#include "kaigo/sdk/loopback.h"

namespace kaigo::engine {

namespace fs = std::filesystem;

std::string LoadedConfig::Where(const std::string& field_path) const {
  // The last source whose part holds the path: an office file's before the main file's.
  for (auto it = sources.rbegin(); it != sources.rend(); ++it) {
    const std::string& prefix = it->first;
    bool below =
        prefix.empty() || (absl::StartsWith(field_path, prefix) &&
                           (field_path.size() == prefix.size() ||
                            field_path[prefix.size()] == '.' || field_path[prefix.size()] == '['));
    if (!below) continue;
    return YamlDocument::Walk(it->second, absl::string_view(field_path).substr(prefix.size()))
        .Mark();
  }
  return path;
}

std::string ResolvePath(const std::string& dir, const std::string& path) {
  if (path.empty()) return path;
  return (fs::path(dir) / path).lexically_normal().string();  // an absolute path replaces dir
}

std::string LoadedConfig::Resolve(const std::string& relative) const {
  bool staged = !root.empty() && relative.rfind(root + "/", 0) == 0;  // resolved already
  if (!root.empty() && !staged && !relative.empty() && relative[0] == '/') {
    return (fs::path(root) / relative.substr(1)).lexically_normal().string();
  }
  return ResolvePath(dir, relative);
}

namespace {

// Maps `doc` onto the part of the configuration at `path`, and remembers it as that part's source.
void MapDocument(std::unique_ptr<YamlDocument> doc, const std::string& path,
                 google::protobuf::Message* part, LoadedConfig* loaded, ConfigErrors* errors) {
  YamlProtoMapper mapper(errors);
  const std::string file = doc->file();
  mapper.SetBytesHook([loaded, file, errors](const std::string& path, YamlNode node,
                                             google::protobuf::Message*,
                                             const google::protobuf::FieldDescriptor* field) {
    PendingSettings s;
    if (field->name() != "settings" ||
        sscanf(path.c_str(), "offices[%d].concerns[%d].settings", &s.office, &s.binding) != 2) {
      errors->Add(node.Mark(), path, "binary values cannot be written here");
      return;
    }
    s.path = path;
    s.file = file;
    s.node = node;
    loaded->settings.push_back(std::move(s));
  });
  mapper.Map(doc->root(), path, part);
  loaded->sources.emplace_back(path, doc->root());
  loaded->documents.push_back(std::move(doc));
}

}  // namespace

LoadedConfig LoadConfig(const std::string& path, ConfigErrors* errors,
                        const std::string& staged_root) {
  LoadedConfig loaded;
  loaded.root = staged_root;
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  loaded.path = absolute.lexically_normal().string();
  loaded.dir = absolute.parent_path().lexically_normal().string();
  auto root = ParseYamlFile(loaded.path, errors);
  if (root == nullptr) {
    loaded.parsed = false;
    return loaded;
  }
  MapDocument(std::move(root), "", &loaded.config, &loaded, errors);

  for (int d = 0; d < loaded.config.office_dirs_size(); ++d) {
    std::string dir_path = absl::StrCat("office_dirs[", d, "]");
    std::string dir = loaded.Resolve(loaded.config.office_dirs(d));
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
    }
    if (ec) {
      errors->Add(loaded.Where(dir_path), dir_path, "cannot read directory " + dir);
      continue;
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      auto doc = ParseYamlFile(file, errors);
      if (doc == nullptr) {
        loaded.parsed = false;
        continue;
      }
      std::string office_path = absl::StrCat("offices[", loaded.config.offices_size(), "]");
      MapDocument(std::move(doc), office_path, loaded.config.add_offices(), &loaded, errors);
    }
  }
  // Checking a staged tree: the secrets the plugins read at start are read from it too.
  if (!staged_root.empty()) {
    auto* keys = loaded.config.mutable_keys();
    std::vector<kaigo::v1::NamedKey*> named;
    if (keys->has_audit()) named.push_back(keys->mutable_audit());
    if (keys->has_recipient_ref()) named.push_back(keys->mutable_recipient_ref());
    if (keys->has_sealing()) named.push_back(keys->mutable_sealing());
    for (auto& retired : *keys->mutable_audit_retired()) named.push_back(&retired);
    for (auto& retired : *keys->mutable_sealing_retired()) named.push_back(&retired);
    for (auto& office : *loaded.config.mutable_offices()) {
      if (office.has_sealing_key()) named.push_back(office.mutable_sealing_key());
    }
    for (auto* key : named) {
      const std::string& file = key->secret().file();
      if (!file.empty() && file[0] == '/') key->mutable_secret()->set_file(loaded.Resolve(file));
    }
    for (auto& office : *loaded.config.mutable_offices()) {
      for (auto& secret : *office.mutable_secrets()) {
        const std::string& file = secret.ref().file();
        if (!file.empty() && file[0] == '/') secret.mutable_ref()->set_file(loaded.Resolve(file));
      }
    }
  }
  return loaded;
}

bool ParseHostPort(const std::string& address, std::string* host, int* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = address.substr(0, colon);
  if (host->front() == '[') {
    if (host->back() != ']') return false;
    *host = host->substr(1, host->size() - 2);
  }
  return absl::SimpleAtoi(address.substr(colon + 1), port) && *port >= 0 && *port <= 65535;
}

bool ListensOnLoopbackOnly(const kaigo::v1::ServerConfig& server, std::string* not_loopback) {
  for (auto [name, address] :
       {std::pair<const char*, const std::string*>{"server.listen", &server.listen()},
        {"server.metrics_listen", &server.metrics_listen()},
        {"server.health_listen", &server.health_listen()},
        {"server.http_listen", &server.http_listen()}}) {
    std::string host;
    int port;
    if (address->empty() && name != std::string("server.listen")) continue;
    if (!ParseHostPort(*address, &host, &port) || !IsLoopbackHost(host)) {
      *not_loopback = std::string(name) + " (" + *address + ")";
      return false;
    }
  }
  return true;
}

namespace {

// ValidateConfig's checks, one method per part of the file, in the order they report. Every
// error names the field's path and where it was written.
class ConfigChecker {
 public:
  ConfigChecker(const LoadedConfig& loaded, ConfigErrors* errors)
      : loaded_(loaded), c_(loaded.config), errors_(errors) {}

  void Listen();
  void Store();
  void Keys();
  void Limits();
  void Tls();
  void Listeners();
  void Plugins();
  void Offices();
  void Callers();

 private:
  void Error(const std::string& path, const std::string& message) {
    errors_->Add(loaded_.Where(path), path, message);
  }
  // An error unless the file `value` names (relative to the configuration's folder) is readable.
  void CheckFile(const std::string& path, const std::string& value);
  void CheckKey(const std::string& at, const kaigo::v1::NamedKey& key);
  // Every sealing key's id is stored in the values it sealed: one id, one key.
  void CheckSealingKey(const std::string& at, const kaigo::v1::NamedKey& key) {
    CheckKey(at, key);
    if (!sealing_ids_.insert(key.id()).second) Error(at + ".id", "a sealing key id appears twice");
  }
  void CheckOffice(int i);

  const LoadedConfig& loaded_;
  const kaigo::v1::EngineConfig& c_;
  ConfigErrors* errors_;
  // As written → "" when readable, else the path tried: hosted configurations name the same few
  // files (a CA, a shared password) in every office.
  std::map<std::string, std::string> unreadable_;
  std::set<std::string> sealing_ids_;
  std::map<std::string, int> plugin_index_;  // name → index under plugins
  std::map<std::string, int> office_index_;  // number → index under offices
};

void ConfigChecker::CheckFile(const std::string& path, const std::string& value) {
  if (value.empty()) return;
  auto [it, first] = unreadable_.try_emplace(value);
  if (first) {
    std::string resolved = loaded_.Resolve(value);
    if (access(resolved.c_str(), R_OK) != 0) it->second = std::move(resolved);
  }
  if (!it->second.empty()) Error(path, "file not found or not readable: " + it->second);
}

void ConfigChecker::Listen() {
  std::string host;
  int port;
  if (c_.server().listen().empty()) {
    Error("server.listen", "required (host:port, e.g. 127.0.0.1:50051)");
  } else if (!ParseHostPort(c_.server().listen(), &host, &port)) {
    Error("server.listen", "must be host:port with a port of 0–65535");
  } else if (c_.server().insecure_loopback() && !IsLoopbackHost(host)) {
    Error("server.insecure_loopback",
          "serving without TLS is allowed only on a loopback address, not " + host);
  } else if (!IsLoopbackHost(host)) {
    // An API port others can reach: every caller proves who it is and is named in callers:.
    if (!c_.server().tls().require_client_certificate()) {
      Error("server.tls.require_client_certificate",
            "an API listener off loopback (" + host + ") requires client certificates (true)");
    }
    if (c_.callers_size() == 0) {
      Error("callers",
            "an API listener off loopback (" + host +
                ") needs callers: which certificates may act for which offices, in which roles");
    }
  }
}

void ConfigChecker::Store() {
  if (!c_.store().has_postgres()) return;
  if (!c_.store().sqlite_path().empty()) {
    Error("store", "choose sqlite_path or postgres, not both");
  }
  const auto& ref = c_.store().postgres().conninfo();
  if (ref.file().empty() == ref.env().empty()) {
    Error("store.postgres.conninfo", "exactly one of file or env");
  }
  const auto& pg = c_.store().postgres();
  const std::string mode = pg.sslmode();
  if (!mode.empty() && mode != "disable" && mode != "allow" && mode != "prefer" &&
      mode != "require" && mode != "verify-ca" && mode != "verify-full") {
    Error("store.postgres.sslmode",
          "one of disable, allow, prefer, require, verify-ca, verify-full (libpq's sslmode)");
  }
  CheckFile("store.postgres.ca_file", pg.ca_file());
  if ((mode == "verify-ca" || mode == "verify-full") && pg.ca_file().empty()) {
    Error("store.postgres.ca_file",
          "required with sslmode " + mode + ": the CA the database server's certificate chains to");
  }
  for (auto [field, value] :
       {std::pair<const char*, int32_t>{"pool_size", pg.pool_size()},
        {"connect_timeout_seconds", pg.connect_timeout_seconds()},
        {"statement_timeout_seconds", pg.statement_timeout_seconds()},
        {"max_reconnect_backoff_seconds", pg.max_reconnect_backoff_seconds()}}) {
    if (value < 0) Error(std::string("store.postgres.") + field, "0 (the default) or more");
  }
  if (pg.connect_timeout_seconds() == 1) {
    Error("store.postgres.connect_timeout_seconds", "at least 2 (libpq's least), or 0 for 5");
  }
}

// Keys: engine/config/engine_keys.h reads them.
void ConfigChecker::CheckKey(const std::string& at, const kaigo::v1::NamedKey& key) {
  static const std::regex kKeyId("[A-Za-z0-9._-]{1,32}");
  if (!std::regex_match(key.id(), kKeyId)) {
    Error(at + ".id", "required: letters, digits, '-', '_' and '.', 1 to 32");
  }
  if (key.secret().file().empty() == key.secret().env().empty()) {
    Error(at + ".secret", "exactly one of file or env (keys are never written inline)");
  }
  CheckFile(at + ".secret.file", key.secret().file());
}

void ConfigChecker::Keys() {
  std::set<std::string> audit_ids;
  if (c_.keys().has_audit()) {
    CheckKey("keys.audit", c_.keys().audit());
    audit_ids.insert(c_.keys().audit().id());
  }
  for (int i = 0; i < c_.keys().audit_retired_size(); ++i) {
    std::string at = absl::StrCat("keys.audit_retired[", i, "]");
    CheckKey(at, c_.keys().audit_retired(i));
    if (!audit_ids.insert(c_.keys().audit_retired(i).id()).second) {
      Error(at + ".id", "an audit key id appears twice");
    }
  }
  if (c_.keys().has_recipient_ref()) CheckKey("keys.recipient_ref", c_.keys().recipient_ref());
  if (c_.keys().has_sealing()) CheckSealingKey("keys.sealing", c_.keys().sealing());
  for (int i = 0; i < c_.keys().sealing_retired_size(); ++i) {
    CheckSealingKey(absl::StrCat("keys.sealing_retired[", i, "]"), c_.keys().sealing_retired(i));
  }
  for (int i = 0; i < c_.offices_size(); ++i) {
    if (c_.offices(i).has_sealing_key()) {
      CheckSealingKey(absl::StrCat("offices[", i, "].sealing_key"), c_.offices(i).sealing_key());
    }
  }
  if (c_.store().has_postgres()) {
    // Replicas sharing the database must share the keys: none may make its own up.
    if (!c_.keys().has_audit()) {
      Error("keys.audit", "required with a PostgreSQL store (every replica uses the same key)");
    }
    if (!c_.keys().has_recipient_ref()) {
      Error("keys.recipient_ref",
            "required with a PostgreSQL store (every replica uses the same key)");
    }
    if (!c_.keys().has_sealing()) {
      Error("keys.sealing",
            "required with a PostgreSQL store (every replica seals and opens values with it)");
    }
  }
}

void ConfigChecker::Limits() {
  if (c_.audit().head_log_interval_seconds() < 0) {
    Error("audit.head_log_interval_seconds", "0 (300 s) or more");
  }
  if (c_.server().max_message_bytes() < 0 ||
      (c_.server().max_message_bytes() > 0 && c_.server().max_message_bytes() < 4 << 20)) {
    Error("server.max_message_bytes", "at least 4194304 (4 MiB, gRPC's default), or 0 for 32 MiB");
  }
  if (c_.server().http_max_connections() < 0) {
    Error("server.http_max_connections", "1 or more, or 0 for 1024");
  }
  if (c_.server().max_memory_bytes() > 0 && c_.server().max_memory_bytes() < uint64_t{64} << 20) {
    Error("server.max_memory_bytes", "at least 67108864 (64 MiB), or 0 for 1 GiB");
  }
  if (c_.server().max_threads() < 0) {
    Error("server.max_threads", "0 (gRPC's default) or more");
  }
}

void ConfigChecker::Tls() {
  if (!c_.server().insecure_loopback()) {
    if (c_.server().tls().cert_file().empty()) {
      Error("server.tls.cert_file", "required unless server.insecure_loopback is true");
    }
    if (c_.server().tls().key_file().empty()) {
      Error("server.tls.key_file", "required unless server.insecure_loopback is true");
    }
  }
  CheckFile("server.tls.cert_file", c_.server().tls().cert_file());
  CheckFile("server.tls.key_file", c_.server().tls().key_file());
  CheckFile("server.tls.client_ca_file", c_.server().tls().client_ca_file());
  CheckFile("server.tls.client_crl_file", c_.server().tls().client_crl_file());
  if (c_.server().tls().require_client_certificate() &&
      c_.server().tls().client_ca_file().empty()) {
    Error("server.tls.require_client_certificate", "needs server.tls.client_ca_file");
  }
}

// The other listeners and the HTTP listener's allowed hosts and origins.
void ConfigChecker::Listeners() {
  std::string host;
  int port;
  if (!c_.server().metrics_listen().empty() &&
      !ParseHostPort(c_.server().metrics_listen(), &host, &port)) {
    Error("server.metrics_listen", "must be host:port with a port of 0–65535");
  }
  if (!c_.server().health_listen().empty() &&
      !ParseHostPort(c_.server().health_listen(), &host, &port)) {
    Error("server.health_listen", "must be host:port with a port of 0–65535");
  }
  if (!c_.server().http_listen().empty()) {
    std::string api_host;
    int api_port;
    if (!ParseHostPort(c_.server().http_listen(), &host, &port)) {
      Error("server.http_listen", "must be host:port with a port of 0–65535");
    } else if (!IsLoopbackHost(host) && ParseHostPort(c_.server().listen(), &api_host, &api_port) &&
               IsLoopbackHost(api_host)) {
      // Off loopback it serves what `listen` serves, so it needs what `listen` off loopback needs.
      Error("server.http_listen", "off loopback (" + host + ") only when server.listen is too");
    }
  }
  for (int i = 0; i < c_.server().http_allowed_hosts_size(); ++i) {
    static const std::regex kHost("[A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\]");
    if (!std::regex_match(c_.server().http_allowed_hosts(i), kHost)) {
      Error("server.http_allowed_hosts[" + std::to_string(i) + "]",
            "a host name or address without port, e.g. kaigo.local");
    }
  }
  for (int i = 0; i < c_.server().http_allowed_origins_size(); ++i) {
    static const std::regex kOrigin(
        "https?://[A-Za-z0-9.-]+(:[0-9]+)?|https?://\\[[0-9A-Fa-f:.]+\\](:[0-9]+)?");
    if (!std::regex_match(c_.server().http_allowed_origins(i), kOrigin)) {
      Error("server.http_allowed_origins[" + std::to_string(i) + "]",
            "an origin: scheme://host[:port], e.g. https://care.example.jp");
    }
  }
}

void ConfigChecker::Plugins() {
  static const std::regex kName("[a-z0-9_]+");
  static const std::regex kSha256("[0-9a-f]{64}");
  for (int i = 0; i < c_.plugins_size(); ++i) {
    const auto& p = c_.plugins(i);
    std::string at = absl::StrCat("plugins[", i, "]");
    if (!std::regex_match(p.name(), kName)) {
      Error(at + ".name", "required, lower-case letters, digits and _");
    } else if (!plugin_index_.emplace(p.name(), i).second) {
      Error(at + ".name",
            "duplicate plugin " + p.name() + " (first at " +
                loaded_.Where(absl::StrCat("plugins[", plugin_index_[p.name()], "]")) + ")");
    }
    if (p.path().empty()) {
      Error(at + ".path", "required: the plugin's .so file");
    } else {
      CheckFile(at + ".path", p.path());
    }
    if (!p.sha256().empty() && !std::regex_match(p.sha256(), kSha256)) {
      Error(at + ".sha256", "must be 64 lower-case hex digits");
    }
  }
}

void ConfigChecker::Offices() {
  for (int i = 0; i < c_.offices_size(); ++i) CheckOffice(i);
}

void ConfigChecker::CheckOffice(int i) {
  const auto& o = c_.offices(i);
  std::string at = absl::StrCat("offices[", i, "]");
  if (o.number().empty()) {
    Error(at + ".number", "required: the office's 10-character 介護保険事業所番号");
  } else if (absl::Status s = ValidateOfficeNumber(o.number()); !s.ok()) {
    Error(at + ".number", std::string(s.message()));
  } else if (!office_index_.emplace(o.number(), i).second) {
    Error(at + ".number",
          "duplicate office " + o.number() + " (first at " +
              loaded_.Where(absl::StrCat("offices[", office_index_[o.number()], "].number")) + ")");
  }
  for (int t = 0; t < o.service_types_size(); ++t) {
    const std::string& code = o.service_types(t);
    bool ok = code.size() == 2 && std::all_of(code.begin(), code.end(), [](char ch) {
                return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z');
              });
    if (!ok) {
      Error(absl::StrCat(at, ".service_types[", t, "]"),
            "サービス種類コード must be 2 characters (digits or capitals), e.g. 43");
    }
  }
  std::set<std::string> services;
  for (int b = 0; b < o.concerns_size(); ++b) {
    const auto& binding = o.concerns(b);
    std::string bat = absl::StrCat(at, ".concerns[", b, "]");
    if (binding.service().find('.') == std::string::npos) {
      Error(bat + ".service", "required: a full service name, e.g. kaigo.v1.OtpService");
    } else if (!services.insert(binding.service()).second) {
      Error(bat + ".service", "the office binds " + binding.service() + " twice");
    }
    if (plugin_index_.count(binding.plugin()) == 0) {
      Error(bat + ".plugin", "'" + binding.plugin() + "' is not listed under plugins");
    }
  }
  std::set<std::string> secret_names;
  for (int s = 0; s < o.secrets_size(); ++s) {
    const auto& secret = o.secrets(s);
    std::string sat = absl::StrCat(at, ".secrets[", s, "]");
    if (secret.name().empty() || !secret_names.insert(secret.name()).second) {
      Error(sat + ".name", "required and unique within the office");
    } else if (absl::StartsWith(secret.name(), "kaigo.")) {
      Error(sat + ".name", "names starting with kaigo. are the engine's (e.g. " +
                               std::string(sdk::kRecipientRefSecret) + ")");
    }
    if (secret.ref().file().empty() == secret.ref().env().empty()) {
      Error(sat + ".ref", "exactly one of file or env (secrets are never written inline)");
    }
    CheckFile(sat + ".ref.file", secret.ref().file());
  }
}

void ConfigChecker::Callers() {
  std::set<std::string> identities;
  for (int i = 0; i < c_.callers_size(); ++i) {
    const auto& caller = c_.callers(i);
    std::string at = absl::StrCat("callers[", i, "]");
    if (caller.identity().empty() || !identities.insert(caller.identity()).second) {
      Error(at + ".identity",
            "required and unique (a certificate's common name or subject alternative name, or "
            "anonymous)");
    }
    const std::string& pin = caller.certificate_sha256();
    if (!pin.empty() && (pin.size() != 64 ||
                         pin.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)) {
      Error(at + ".certificate_sha256", "64 hexadecimal digits (SHA-256 of the certificate)");
    }
    for (int o = 0; o < caller.offices_size(); ++o) {
      const std::string& number = caller.offices(o);
      if (number != "*" && office_index_.count(number) == 0) {
        Error(absl::StrCat(at, ".offices[", o, "]"),
              "'" + number + "' is not an office of this configuration (or \"*\")");
      }
    }
  }
}

}  // namespace

void ValidateConfig(const LoadedConfig& loaded, ConfigErrors* errors) {
  ConfigChecker check(loaded, errors);
  check.Listen();
  check.Store();
  check.Keys();
  check.Limits();
  check.Tls();
  check.Listeners();
  if (!ParseLogLevel(loaded.config.log().level()).ok()) {
    errors->Add(loaded.Where("log.level"), "log.level", "must be debug, info, warn or error");
  }
  check.Plugins();
  check.Offices();
  check.Callers();
}

}  // namespace kaigo::engine
