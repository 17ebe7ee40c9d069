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

void ValidateConfig(const LoadedConfig& loaded, ConfigErrors* errors) {
  const auto& c = loaded.config;
  auto error = [&](const std::string& path, const std::string& message) {
    errors->Add(loaded.Where(path), path, message);
  };
  // As written → "" when readable, else the path tried: hosted configurations name the same few
  // files (a CA, a shared password) in every office.
  std::map<std::string, std::string> unreadable;
  auto check_file = [&](const std::string& path, const std::string& value) {
    if (value.empty()) return;
    auto [it, first] = unreadable.try_emplace(value);
    if (first) {
      std::string resolved = loaded.Resolve(value);
      if (access(resolved.c_str(), R_OK) != 0) it->second = std::move(resolved);
    }
    if (!it->second.empty()) error(path, "file not found or not readable: " + it->second);
  };

  // server
  std::string host;
  int port;
  if (c.server().listen().empty()) {
    error("server.listen", "required (host:port, e.g. 127.0.0.1:50051)");
  } else if (!ParseHostPort(c.server().listen(), &host, &port)) {
    error("server.listen", "must be host:port with a port of 0–65535");
  } else if (c.server().insecure_loopback() && !IsLoopbackHost(host)) {
    error("server.insecure_loopback",
          "serving without TLS is allowed only on a loopback address, not " + host);
  } else if (!IsLoopbackHost(host)) {
    // An API port others can reach: every caller proves who it is and is named in callers:.
    if (!c.server().tls().require_client_certificate()) {
      error("server.tls.require_client_certificate",
            "an API listener off loopback (" + host + ") requires client certificates (true)");
    }
    if (c.callers_size() == 0) {
      error("callers",
            "an API listener off loopback (" + host +
                ") needs callers: which certificates may act for which offices, in which roles");
    }
  }
  if (c.store().has_postgres()) {
    if (!c.store().sqlite_path().empty()) {
      error("store", "choose sqlite_path or postgres, not both");
    }
    const auto& ref = c.store().postgres().conninfo();
    if (ref.file().empty() == ref.env().empty()) {
      error("store.postgres.conninfo", "exactly one of file or env");
    }
    const auto& pg = c.store().postgres();
    const std::string mode = pg.sslmode();
    if (!mode.empty() && mode != "disable" && mode != "allow" && mode != "prefer" &&
        mode != "require" && mode != "verify-ca" && mode != "verify-full") {
      error("store.postgres.sslmode",
            "one of disable, allow, prefer, require, verify-ca, verify-full (libpq's sslmode)");
    }
    check_file("store.postgres.ca_file", pg.ca_file());
    if ((mode == "verify-ca" || mode == "verify-full") && pg.ca_file().empty()) {
      error("store.postgres.ca_file", "required with sslmode " + mode +
                                          ": the CA the database server's certificate chains to");
    }
    for (auto [field, value] :
         {std::pair<const char*, int32_t>{"pool_size", pg.pool_size()},
          {"connect_timeout_seconds", pg.connect_timeout_seconds()},
          {"statement_timeout_seconds", pg.statement_timeout_seconds()},
          {"max_reconnect_backoff_seconds", pg.max_reconnect_backoff_seconds()}}) {
      if (value < 0) error(std::string("store.postgres.") + field, "0 (the default) or more");
    }
    if (pg.connect_timeout_seconds() == 1) {
      error("store.postgres.connect_timeout_seconds", "at least 2 (libpq's least), or 0 for 5");
    }
  }
  // keys (engine/config/engine_keys.h reads them)
  static const std::regex kKeyId("[A-Za-z0-9._-]{1,32}");
  auto check_key = [&](const std::string& at, const kaigo::v1::NamedKey& key) {
    if (!std::regex_match(key.id(), kKeyId)) {
      error(at + ".id", "required: letters, digits, '-', '_' and '.', 1 to 32");
    }
    if (key.secret().file().empty() == key.secret().env().empty()) {
      error(at + ".secret", "exactly one of file or env (keys are never written inline)");
    }
    check_file(at + ".secret.file", key.secret().file());
  };
  std::set<std::string> audit_ids;
  if (c.keys().has_audit()) {
    check_key("keys.audit", c.keys().audit());
    audit_ids.insert(c.keys().audit().id());
  }
  for (int i = 0; i < c.keys().audit_retired_size(); ++i) {
    std::string at = absl::StrCat("keys.audit_retired[", i, "]");
    check_key(at, c.keys().audit_retired(i));
    if (!audit_ids.insert(c.keys().audit_retired(i).id()).second) {
      error(at + ".id", "an audit key id appears twice");
    }
  }
  if (c.keys().has_recipient_ref()) check_key("keys.recipient_ref", c.keys().recipient_ref());
  // Every sealing key's id is stored in the values it sealed: one id, one key.
  std::set<std::string> sealing_ids;
  auto check_sealing_key = [&](const std::string& at, const kaigo::v1::NamedKey& key) {
    check_key(at, key);
    if (!sealing_ids.insert(key.id()).second) error(at + ".id", "a sealing key id appears twice");
  };
  if (c.keys().has_sealing()) check_sealing_key("keys.sealing", c.keys().sealing());
  for (int i = 0; i < c.keys().sealing_retired_size(); ++i) {
    check_sealing_key(absl::StrCat("keys.sealing_retired[", i, "]"), c.keys().sealing_retired(i));
  }
  for (int i = 0; i < c.offices_size(); ++i) {
    if (c.offices(i).has_sealing_key()) {
      check_sealing_key(absl::StrCat("offices[", i, "].sealing_key"), c.offices(i).sealing_key());
    }
  }
  if (c.store().has_postgres()) {
    // Replicas sharing the database must share the keys: none may make its own up.
    if (!c.keys().has_audit()) {
      error("keys.audit", "required with a PostgreSQL store (every replica uses the same key)");
    }
    if (!c.keys().has_recipient_ref()) {
      error("keys.recipient_ref",
            "required with a PostgreSQL store (every replica uses the same key)");
    }
    if (!c.keys().has_sealing()) {
      error("keys.sealing",
            "required with a PostgreSQL store (every replica seals and opens values with it)");
    }
  }
  if (c.audit().head_log_interval_seconds() < 0) {
    error("audit.head_log_interval_seconds", "0 (300 s) or more");
  }
  if (c.server().max_message_bytes() < 0 ||
      (c.server().max_message_bytes() > 0 && c.server().max_message_bytes() < 4 << 20)) {
    error("server.max_message_bytes", "at least 4194304 (4 MiB, gRPC's default), or 0 for 32 MiB");
  }
  if (c.server().http_max_connections() < 0) {
    error("server.http_max_connections", "1 or more, or 0 for 1024");
  }
  if (c.server().max_memory_bytes() > 0 && c.server().max_memory_bytes() < uint64_t{64} << 20) {
    error("server.max_memory_bytes", "at least 67108864 (64 MiB), or 0 for 1 GiB");
  }
  if (c.server().max_threads() < 0) {
    error("server.max_threads", "0 (gRPC's default) or more");
  }
  if (!c.server().insecure_loopback()) {
    if (c.server().tls().cert_file().empty()) {
      error("server.tls.cert_file", "required unless server.insecure_loopback is true");
    }
    if (c.server().tls().key_file().empty()) {
      error("server.tls.key_file", "required unless server.insecure_loopback is true");
    }
  }
  check_file("server.tls.cert_file", c.server().tls().cert_file());
  check_file("server.tls.key_file", c.server().tls().key_file());
  check_file("server.tls.client_ca_file", c.server().tls().client_ca_file());
  check_file("server.tls.client_crl_file", c.server().tls().client_crl_file());
  if (c.server().tls().require_client_certificate() && c.server().tls().client_ca_file().empty()) {
    error("server.tls.require_client_certificate", "needs server.tls.client_ca_file");
  }
  if (!c.server().metrics_listen().empty() &&
      !ParseHostPort(c.server().metrics_listen(), &host, &port)) {
    error("server.metrics_listen", "must be host:port with a port of 0–65535");
  }
  if (!c.server().health_listen().empty() &&
      !ParseHostPort(c.server().health_listen(), &host, &port)) {
    error("server.health_listen", "must be host:port with a port of 0–65535");
  }
  if (!c.server().http_listen().empty()) {
    std::string api_host;
    int api_port;
    if (!ParseHostPort(c.server().http_listen(), &host, &port)) {
      error("server.http_listen", "must be host:port with a port of 0–65535");
    } else if (!IsLoopbackHost(host) && ParseHostPort(c.server().listen(), &api_host, &api_port) &&
               IsLoopbackHost(api_host)) {
      // Off loopback it serves what `listen` serves, so it needs what `listen` off loopback needs.
      error("server.http_listen", "off loopback (" + host + ") only when server.listen is too");
    }
  }
  for (int i = 0; i < c.server().http_allowed_hosts_size(); ++i) {
    static const std::regex kHost("[A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\]");
    if (!std::regex_match(c.server().http_allowed_hosts(i), kHost)) {
      error("server.http_allowed_hosts[" + std::to_string(i) + "]",
            "a host name or address without port, e.g. kaigo.local");
    }
  }
  for (int i = 0; i < c.server().http_allowed_origins_size(); ++i) {
    static const std::regex kOrigin(
        "https?://[A-Za-z0-9.-]+(:[0-9]+)?|https?://\\[[0-9A-Fa-f:.]+\\](:[0-9]+)?");
    if (!std::regex_match(c.server().http_allowed_origins(i), kOrigin)) {
      error("server.http_allowed_origins[" + std::to_string(i) + "]",
            "an origin: scheme://host[:port], e.g. https://care.example.jp");
    }
  }
  if (!ParseLogLevel(c.log().level()).ok())
    error("log.level", "must be debug, info, warn or error");

  // plugins
  std::map<std::string, int> plugin_index;
  static const std::regex kName("[a-z0-9_]+");
  static const std::regex kSha256("[0-9a-f]{64}");
  for (int i = 0; i < c.plugins_size(); ++i) {
    const auto& p = c.plugins(i);
    std::string at = absl::StrCat("plugins[", i, "]");
    if (!std::regex_match(p.name(), kName)) {
      error(at + ".name", "required, lower-case letters, digits and _");
    } else if (!plugin_index.emplace(p.name(), i).second) {
      error(at + ".name", "duplicate plugin " + p.name() + " (first at " +
                              loaded.Where(absl::StrCat("plugins[", plugin_index[p.name()], "]")) +
                              ")");
    }
    if (p.path().empty()) {
      error(at + ".path", "required: the plugin's .so file");
    } else {
      check_file(at + ".path", p.path());
    }
    if (!p.sha256().empty() && !std::regex_match(p.sha256(), kSha256)) {
      error(at + ".sha256", "must be 64 lower-case hex digits");
    }
  }

  // offices
  std::map<std::string, int> office_index;
  for (int i = 0; i < c.offices_size(); ++i) {
    const auto& o = c.offices(i);
    std::string at = absl::StrCat("offices[", i, "]");
    if (o.number().empty()) {
      error(at + ".number", "required: the office's 10-character 介護保険事業所番号");
    } else if (absl::Status s = ValidateOfficeNumber(o.number()); !s.ok()) {
      error(at + ".number", std::string(s.message()));
    } else if (!office_index.emplace(o.number(), i).second) {
      error(at + ".number",
            "duplicate office " + o.number() + " (first at " +
                loaded.Where(absl::StrCat("offices[", office_index[o.number()], "].number")) + ")");
    }
    for (int t = 0; t < o.service_types_size(); ++t) {
      const std::string& code = o.service_types(t);
      bool ok = code.size() == 2 && std::all_of(code.begin(), code.end(), [](char ch) {
                  return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z');
                });
      if (!ok) {
        error(absl::StrCat(at, ".service_types[", t, "]"),
              "サービス種類コード must be 2 characters (digits or capitals), e.g. 43");
      }
    }
    std::set<std::string> services;
    for (int b = 0; b < o.concerns_size(); ++b) {
      const auto& binding = o.concerns(b);
      std::string bat = absl::StrCat(at, ".concerns[", b, "]");
      if (binding.service().find('.') == std::string::npos) {
        error(bat + ".service", "required: a full service name, e.g. kaigo.v1.OtpService");
      } else if (!services.insert(binding.service()).second) {
        error(bat + ".service", "the office binds " + binding.service() + " twice");
      }
      if (plugin_index.count(binding.plugin()) == 0) {
        error(bat + ".plugin", "'" + binding.plugin() + "' is not listed under plugins");
      }
    }
    std::set<std::string> secret_names;
    for (int s = 0; s < o.secrets_size(); ++s) {
      const auto& secret = o.secrets(s);
      std::string sat = absl::StrCat(at, ".secrets[", s, "]");
      if (secret.name().empty() || !secret_names.insert(secret.name()).second) {
        error(sat + ".name", "required and unique within the office");
      } else if (absl::StartsWith(secret.name(), "kaigo.")) {
        error(sat + ".name", "names starting with kaigo. are the engine's (e.g. " +
                                 std::string(sdk::kRecipientRefSecret) + ")");
      }
      if (secret.ref().file().empty() == secret.ref().env().empty()) {
        error(sat + ".ref", "exactly one of file or env (secrets are never written inline)");
      }
      check_file(sat + ".ref.file", secret.ref().file());
    }
  }

  // callers
  std::set<std::string> identities;
  for (int i = 0; i < c.callers_size(); ++i) {
    const auto& caller = c.callers(i);
    std::string at = absl::StrCat("callers[", i, "]");
    if (caller.identity().empty() || !identities.insert(caller.identity()).second) {
      error(at + ".identity",
            "required and unique (a certificate's common name or subject alternative name, or "
            "anonymous)");
    }
    const std::string& pin = caller.certificate_sha256();
    if (!pin.empty() && (pin.size() != 64 ||
                         pin.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)) {
      error(at + ".certificate_sha256", "64 hexadecimal digits (SHA-256 of the certificate)");
    }
    for (int o = 0; o < caller.offices_size(); ++o) {
      const std::string& number = caller.offices(o);
      if (number != "*" && office_index.count(number) == 0) {
        error(absl::StrCat(at, ".offices[", o, "]"),
              "'" + number + "' is not an office of this configuration (or \"*\")");
      }
    }
  }
}

}  // namespace kaigo::engine
