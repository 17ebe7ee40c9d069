// kaigo-bridge: the engine's command line.
//
//   kaigo-bridge serve --config FILE [--ready-file FILE] [--clock-offset SECONDS|DURATION]
//   kaigo-bridge check-config FILE [--root DIR]   (DIR: a staged tree; absolute paths below it)
//   kaigo-bridge access --config FILE               (the access policy in force, per method)
//   kaigo-bridge admin --config FILE list-plugins|list-offices|reload|swap NAME PATH [SHA256]
//   kaigo-bridge audit verify --config FILE
//   kaigo-bridge audit search --config FILE --insurer NNNNNN --insured NNNNNNNNNN
//   kaigo-bridge store rekey --config FILE
//   kaigo-bridge import-certificate --config FILE --office N --password-file FILE CERT.p12
//   kaigo-bridge health-probe (--config FILE | --address HOST:PORT) [--service NAME]
//   kaigo-bridge --version
//
// audit verify checks the chain with the configuration's audit keys (keys.audit and
// keys.audit_retired); audit search lists who accessed a recipient (time in JST, office, caller,
// acting user, action, outcome), by the recipient's keyed reference. Both read the store the
// configuration names and need its keys; neither writes. store rekey re-seals every plugin value
// under its office's current sealing key (engine/store/sealing_store.h) and prints the counts;
// safe while engines run, idempotent; exit 1 if values no configured key opens remain.
// serve: SIGHUP reloads the configuration (a bad one is refused and the running one stays);
// SIGTERM or SIGINT drains calls for up to 5 s and exits. The ready file receives
// {"grpc_port":…,"metrics_port":…,"health_port":…,"http_port":…,"pid":…} once the engine serves
// (written atomically), so tests and supervisors can use port 0. --clock-offset moves the engine's
// clock for business dates and stored timestamps (kaigo/sdk/clock.h), for tests only: an engine
// with a listener off loopback refuses it.
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/config/config_loader.h"
#include "engine/config/engine_keys.h"
#include "engine/engine.h"
#include "engine/main/admin_command.h"
#include "engine/main/flags.h"
#include "engine/main/health_probe.h"
#include "engine/main/import_certificate.h"
#include "engine/main/systemd_notify.h"
#include "engine/server/grpc_server.h"
#include "engine/store/audit_chain.h"
#include "engine/store/open_store.h"
#include "kaigo/identifiers.h"
#include "recipient_ref.h"

namespace {

using kaigo::engine::Engine;
using kaigo::engine::Flag;

int Usage() {
  std::cerr
      << "usage:\n"
         "  kaigo-bridge serve --config FILE [--ready-file FILE] [--clock-offset SECONDS]\n"
         "  kaigo-bridge check-config FILE [--root DIR]\n"
         "  kaigo-bridge access --config FILE\n"
         "  kaigo-bridge admin --config FILE list-plugins|list-offices|reload|"
         "swap NAME PATH [SHA256]\n"
         "  kaigo-bridge audit verify --config FILE\n"
         "  kaigo-bridge audit search --config FILE --insurer NNNNNN --insured NNNNNNNNNN\n"
         "  kaigo-bridge store rekey --config FILE\n"
         "  kaigo-bridge import-certificate --config FILE --office N --password-file FILE "
         "CERTIFICATE.p12\n"
         "  kaigo-bridge health-probe (--config FILE | --address HOST:PORT) [--service NAME]\n"
         "  kaigo-bridge --version\n";
  return 2;
}

void PrintErrors(const std::vector<std::string>& errors) {
  for (const auto& e : errors) std::cerr << e << "\n";
}

bool WriteReadyFile(const std::string& path, int grpc_port, int metrics_port, int health_port,
                    int http_port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "{\"grpc_port\":" << grpc_port << ",\"metrics_port\":" << metrics_port
        << ",\"health_port\":" << health_port << ",\"http_port\":" << http_port
        << ",\"pid\":" << getpid() << "}\n";
    if (!out) return false;
  }
  return rename(tmp.c_str(), path.c_str()) == 0;
}

int Serve(const std::vector<std::string>& args) {
  std::string config = Flag(args, "--config");
  if (config.empty()) return Usage();
  // Signals are taken by sigwait below; every thread started from here inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::Duration clock_offset;
  if (std::string offset = Flag(args, "--clock-offset"); !offset.empty()) {
    auto parsed = kaigo::ParseClockOffset(offset);
    if (!parsed.ok()) {
      std::cerr << parsed.status().message() << "\n";
      return 2;
    }
    clock_offset = *parsed;
  }
  std::vector<std::string> errors;
  auto engine = Engine::Create(config, &errors, /*check_only=*/false, /*root=*/"", clock_offset);
  if (!engine.ok()) {
    PrintErrors(errors.empty() ? std::vector<std::string>{std::string(engine.status().message())}
                               : errors);
    return 1;
  }
  // Loading a large configuration (its YAML tree) leaves freed heap that glibc keeps; give it
  // back before serving, and after each reload.
  malloc_trim(0);
  kaigo::engine::GrpcServer server(engine->get());
  if (absl::Status s = server.Start(); !s.ok()) {
    (*engine)->logger().Error("cannot start", {{"error", std::string(s.message())}});
    return 1;
  }
  std::string ready = Flag(args, "--ready-file");
  if (!ready.empty() && !WriteReadyFile(ready, server.grpc_port(), server.metrics_port(),
                                        server.health_port(), server.http_port())) {
    (*engine)->logger().Error("cannot write the ready file", {{"path", ready}});
    return 1;
  }
  kaigo::engine::SystemdNotifier manager;
  manager.Ready();
  for (;;) {
    int signal = 0;
    if (auto interval = manager.alive_interval()) {
      // The watchdog is fed from this loop: an engine whose serve loop is stuck is restarted.
      auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*interval);
      timespec wait{seconds.count(), static_cast<long>((*interval - seconds).count() * 1000)};
      signal = sigtimedwait(&signals, nullptr, &wait);
      if (signal < 0) {
        manager.Alive();
        continue;
      }
    } else {
      sigwait(&signals, &signal);
    }
    if (signal == SIGHUP) {
      manager.Reloading();
      auto reloaded = (*engine)->Reload();  // logs its own outcome
      (void)reloaded;
      malloc_trim(0);
      manager.Ready();
      continue;
    }
    (*engine)->logger().Info("shutting down", {{"signal", strsignal(signal)}});
    manager.Stopping();
    server.Shutdown();
    break;
  }
  // Plugin threads may still run; leave without static destructors racing them.
  fflush(stderr);
  _exit(0);
}

int CheckConfig(const std::vector<std::string>& args) {
  if (args.size() != 1 && !(args.size() == 3 && args[1] == "--root")) return Usage();
  std::vector<std::string> errors;
  auto engine = Engine::Create(args[0], &errors, /*check_only=*/true, Flag(args, "--root"));
  if (!engine.ok() && errors.empty()) errors.push_back(std::string(engine.status().message()));
  if (!errors.empty()) {
    PrintErrors(errors);
    std::cerr << errors.size() << " error(s) in " << args[0] << "\n";
    _exit(1);
  }
  for (const auto& method : (*engine)->MethodsWithoutPolicy()) {
    std::cout << "note: " << method
              << " has no access policy: nobody may call it until access: grants it\n";
  }
  std::cout << args[0] << ": configuration is valid\n";
  fflush(stdout);
  _exit(0);
}

int Access(const std::vector<std::string>& args) {
  std::string config = Flag(args, "--config");
  if (config.empty()) return Usage();
  std::vector<std::string> errors;
  auto engine = Engine::Create(config, &errors, /*check_only=*/true);
  if (!engine.ok()) {
    PrintErrors(errors.empty() ? std::vector<std::string>{std::string(engine.status().message())}
                               : errors);
    _exit(1);
  }
  for (const auto& line : (*engine)->AccessTable()) std::cout << line << "\n";
  fflush(stdout);
  _exit(0);
}

// The configuration's store, opened with its keys (never created here: a desk install's key files
// exist once it has served): the audit keys, and with `value_keys` the recipient-reference and
// sealing keys, the plugin values then read through the seal. Prints why not and returns no store.
struct OpenedStore {
  kaigo::engine::EngineKeys keys;
  std::unique_ptr<kaigo::engine::Store> store;
  kaigo::engine::SealingStore* sealed = nullptr;  // `store`, when opened with value_keys
};

OpenedStore OpenConfiguredStore(const std::string& config, bool value_keys) {
  OpenedStore opened;
  kaigo::engine::ConfigErrors errors;
  auto loaded = kaigo::engine::LoadConfig(config, &errors);
  if (!errors.empty()) {
    PrintErrors(errors.list());
    return opened;
  }
  auto keys =
      kaigo::engine::LoadEngineKeys(loaded.config.keys(), loaded.config.store(), loaded.dir,
                                    /*create_missing=*/false, value_keys, loaded.config.offices());
  if (!keys.ok()) {
    std::cerr << "the engine's keys are needed: " << keys.status().message() << "\n";
    return opened;
  }
  opened.keys = *std::move(keys);
  if (value_keys) {
    auto store = kaigo::engine::OpenSealedStore(loaded.config.store(), loaded.dir, opened.keys);
    if (!store.ok()) {
      std::cerr << store.status().message() << "\n";
      return opened;
    }
    opened.sealed = store->get();
    opened.store = *std::move(store);
  } else {
    auto store = kaigo::engine::OpenStore(loaded.config.store(), loaded.dir,
                                          kaigo::engine::AuditKeyringOf(opened.keys));
    if (!store.ok()) {
      std::cerr << store.status().message() << "\n";
      return opened;
    }
    opened.store = *std::move(store);
  }
  return opened;
}

int AuditVerify(const std::vector<std::string>& args) {
  std::string config = Flag(args, "--config");
  if (config.empty()) return Usage();
  OpenedStore opened = OpenConfiguredStore(config, /*value_keys=*/false);
  if (opened.store == nullptr) return 1;
  auto& store = opened.store;
  auto result = kaigo::engine::VerifyAudit(*store, kaigo::engine::AuditKeyringOf(opened.keys));
  if (!result.ok()) {
    std::cerr << result.status().message() << "\n";
    return 1;
  }
  if (!result->ok) {
    std::cout << "audit log BROKEN after " << result->records << " record(s): " << result->problem
              << "\n";
    return 1;
  }
  std::cout << "audit log intact: " << result->records << " record(s)";
  if (result->unkeyed > 0) {
    std::cout << "; the first " << result->unkeyed
              << " were written before the chain was keyed (SHA-256 only: compare the head with "
                 "one anchored outside)";
  }
  std::cout << "\n";
  auto head = store->AuditChainHead();
  if (head.ok() && head->length > 0) {
    std::cout << "head: " << head->length << " " << head->hash << "\n";
  }
  return 0;
}

// Who viewed a recipient: every record whose reference is the recipient's, under the engine's
// key or under a key a plugin kept in its store before the engine lent one.
int AuditSearch(const std::vector<std::string>& args) {
  std::string config = Flag(args, "--config");
  std::string insurer = Flag(args, "--insurer"), insured = Flag(args, "--insured");
  if (config.empty() || insurer.empty() || insured.empty()) return Usage();
  if (auto s = kaigo::ValidateInsurerNumber(insurer); !s.ok()) {
    std::cerr << "--insurer: " << s.message() << "\n";
    return 2;
  }
  if (auto s = kaigo::ValidateInsuredNumber(insured); !s.ok()) {
    std::cerr << "--insured: " << s.message() << "\n";
    return 2;
  }
  OpenedStore opened = OpenConfiguredStore(config, /*value_keys=*/true);
  if (opened.store == nullptr) return 1;
  auto& store = opened.store;
  std::set<std::string> refs = {
      kaigo::plugins::RecipientRefUnder(opened.keys.recipient_ref.secret, insurer, insured)};
  std::set<std::pair<std::string, std::string>> namespaces;  // (plugin, office) seen in the log
  std::vector<kaigo::engine::StoredAuditRecord> records;
  absl::Status read = store->ScanAudit([&](const kaigo::engine::StoredAuditRecord& s) {
    namespaces.emplace(s.record.plugin, s.record.office);
    if (absl::StartsWith(s.record.subject_ref, "r:")) records.push_back(s);
    return true;
  });
  if (!read.ok()) {
    std::cerr << read.message() << "\n";
    return 1;
  }
  for (const auto& [plugin, office] : namespaces) {
    if (auto kept = store->Get(plugin, office, "audit-ref-key"); kept.ok()) {
      refs.insert(kaigo::plugins::RecipientRefUnder(*kept, insurer, insured));
    }
  }
  std::cout << "time\toffice\tcaller\tuser\taction\toutcome\n";
  int found = 0;
  for (const auto& s : records) {
    const auto& r = s.record;
    if (refs.count(r.subject_ref) == 0) continue;
    ++found;
    std::cout << absl::FormatTime("%Y-%m-%dT%H:%M:%E3S%Ez", absl::FromUnixMillis(r.time_ms),
                                  absl::FixedTimeZone(9 * 3600))
              << "\t" << r.office << "\t" << r.caller << "\t" << (r.user.empty() ? "-" : r.user)
              << "\t" << r.action << "\t"
              << absl::StatusCodeToString(static_cast<absl::StatusCode>(r.outcome)) << "\n";
  }
  std::cerr << found << " record(s) of this recipient\n";
  return 0;
}

// Re-seals every stored value under its office's current sealing key (keys.sealing, or the
// office's own), so retired keys can then be dropped from the configuration. Safe while engines
// run (compare-and-set on every value); running it again changes nothing.
int StoreRekey(const std::vector<std::string>& args) {
  std::string config = Flag(args, "--config");
  if (config.empty() || args.size() != 2) return Usage();
  OpenedStore opened = OpenConfiguredStore(config, /*value_keys=*/true);
  if (opened.sealed == nullptr) return 1;
  auto counts = opened.sealed->Reseal(/*rekey=*/true);
  if (!counts.ok()) {
    std::cerr << "rekey stopped: " << counts.status().message() << "\n";
    return 1;
  }
  std::cout << "values: " << counts->examined
            << "; re-sealed under the current keys: " << counts->resealed
            << "; sealed from clear: " << counts->sealed
            << "; already current: " << counts->unchanged
            << "; written meanwhile (left as written): " << counts->raced
            << "; unreadable: " << counts->unreadable << "\n";
  if (counts->unreadable > 0) {
    std::cerr << "values that open with no configured key remain (their keys are needed: "
                 "keys.sealing_retired), the first: "
              << counts->first_unreadable << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // The engine holds every office's certificate and passwords: no core dump, and no ptrace by
  // other processes of the same user.
  prctl(PR_SET_DUMPABLE, 0);
  // Debian's abseil is built without NDEBUG, so every absl::Mutex (all of gRPC's locks) would run
  // the debug-only lock-order cycle detector, under one global lock, on every acquisition.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return Usage();
  std::string command = args[0];
  args.erase(args.begin());
  if (command == "--version") {
    std::cout << "kaigo-bridge " << KAIGO_VERSION << "\n";  // set by cmake/Packaging.cmake
    return 0;
  }
  if (command == "serve") return Serve(args);
  if (command == "check-config") return CheckConfig(args);
  if (command == "access") return Access(args);
  if (command == "admin") return kaigo::engine::AdminCommand(args);
  if (command == "health-probe") return kaigo::engine::HealthProbe(args);
  if (command == "import-certificate") return kaigo::engine::ImportCertificate(args);
  if (command == "audit" && !args.empty() && args[0] == "verify") {
    args.erase(args.begin());
    return AuditVerify(args);
  }
  if (command == "audit" && !args.empty() && args[0] == "search") {
    args.erase(args.begin());
    return AuditSearch(args);
  }
  if (command == "store" && !args.empty() && args[0] == "rekey") {
    args.erase(args.begin());
    return StoreRekey(args);
  }
  return Usage();
}
