// Helpers for cross-component tests: where the build is, temporary directories, running commands,
// an engine process started on port 0 and stopped by process id, test certificates, and small
// gRPC/HTTP client conveniences. Not thread-safe unless stated.
#ifndef KAIGO_TESTS_SUPPORT_TEST_ENV_H_
#define KAIGO_TESTS_SUPPORT_TEST_ENV_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "kaigo/sdk/clock.h"

namespace kaigo::testing {

// The clock the tests run at: the system time plus KAIGO_TEST_CLOCK_OFFSET (whole seconds, or a
// duration such as 9600h; unset: none). Engines and sandboxes the helpers below start get the same
// offset by default (`--clock-offset`), so a whole suite runs at another date by setting it (see
// the *_next_year entries in tests/CMakeLists.txt). Dates a test expects come from this clock.
const Clock& TestClock();
inline absl::CivilDay TestToday() { return TestClock().Today(); }
// The offset that puts the test clock at `japan_time` (Japan's civil time) now.
inline absl::Duration OffsetToJapanTime(absl::CivilSecond japan_time) {
  return OffsetTo(japan_time);
}

// April–March: the fiscal year (年度) of `day`.
inline int FiscalYear(absl::CivilDay day) { return day.month() >= 4 ? day.year() : day.year() - 1; }
// The sandbox seeds 市原市 (122192) to go live on April 1 two fiscal years after the day it seeds
// its data (sandbox/README.md); for a sandbox started today on the test clock.
inline std::string IchiharaGoesLive() {
  return IsoDate(absl::CivilDay(FiscalYear(TestToday()) + 2, 4, 1));
}
// "YYYYMM" of the test clock's month.
std::string TestMonth();

std::string BuildDir();
std::string SourceDir();
std::string PluginDir();
std::string EngineBinary();

// A valid 介護保険事業所番号 made from nine characters (the check digit appended).
std::string Office(const std::string& first_nine);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string Write(const std::string& name, const std::string& content) const;
  // Writes `content` to the absolute `path`, making its directories.
  static void WriteAt(const std::string& path, const std::string& content);

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
CommandResult RunCommand(const std::string& command);

class EngineProcess {
 public:
  // Starts `kaigo-bridge serve --config config` and waits for its ready file; with a clock offset
  // unless it is zero.
  static absl::StatusOr<std::unique_ptr<EngineProcess>> Start(
      const std::string& config, absl::Duration timeout = absl::Seconds(20),
      absl::Duration clock_offset = TestClock().offset());
  ~EngineProcess();

  // SIGTERM, then SIGKILL if it has not exited within 10 s. Returns the exit status.
  int Stop();
  void Signal(int signal);
  pid_t pid() const { return pid_; }
  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  int health_port() const { return health_port_; }
  int http_port() const { return http_port_; }  // server.http_listen's (Connect), 0 if none
  std::string target() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  int health_port_ = 0;
  int http_port_ = 0;
  std::string log_path_;
  std::unique_ptr<TempDir> dir_;
};

std::string ReadFile(const std::string& path);

// kaigo-sandbox with its test PKI, on a loopback port, stopped by process id.
class SandboxProcess {
 public:
  // Makes the certificates in a fresh directory and starts the sandbox, both at the clock offset.
  static absl::StatusOr<std::unique_ptr<SandboxProcess>> Start(
      absl::Duration clock_offset = TestClock().offset());
  ~SandboxProcess();

  int Stop();
  // Starts it again on the same port and state (after Stop).
  absl::Status Restart();
  int port() const { return port_; }
  std::string base_url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_->path(); }
  std::string ca_pem() const { return ReadFile(dir() + "/ca.crt"); }
  // The PKCS#12 file of an office (password "sandbox").
  std::string p12(const std::string& office) const {
    return ReadFile(dir() + "/office-" + office + ".p12");
  }
  // POST /sandbox/faults with this JSON body.
  absl::Status Faults(const std::string& json) const;
  // POST /sandbox/clock: moves the running sandbox's clock (also kept for a Restart).
  absl::Status SetClockOffset(absl::Duration offset);
  absl::Duration clock_offset() const { return clock_offset_; }

 private:
  absl::Status Launch(int port);
  absl::Status Control(const std::string& path, const std::string& json) const;
  absl::Duration clock_offset_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::unique_ptr<TempDir> dir_;
};

// A concern an office binds to a platform plugin, with that plugin's extra settings (YAML lines
// at the settings level, e.g. "cache_ttl_seconds: 0").
struct PlatformBinding {
  std::string service;
  std::string plugin;
  std::vector<std::string> settings;
  bool platform = true;  // false: a concern that does not call the platform (no connection)
};

// The subsidy concern with its rules from subsidy-rules.yaml beside the engine's configuration.
inline PlatformBinding SubsidyBinding() {
  return {"kaigo.v1.SubsidyService", "subsidy_filing", {"rules_file: subsidy-rules.yaml"}};
}
// The care-plan exchange for an office of `service_type` (its サービス種類コード, e.g. "43").
inline PlatformBinding CarePlanBinding(const std::string& service_type) {
  return {"kaigo.v1.CarePlanExchangeService",
          "careplan_exchange",
          {"service_type: \"" + service_type + "\""}};
}

// The YAML of one office (an item of `offices:`) whose platform plugins reach `sandbox` with the
// office's PKCS#12 certificate, as the sandbox's web user `user` (password from the sandbox
// README, passed by environment variable). Secret files go into `secrets`.
// `extra_secrets` are more of the office's secrets: name → file. `platform_settings` are more
// lines of every binding's `platform:` settings (YAML at that level, e.g. "accounts:" and its
// items indented by two).
std::string PlatformOfficeYaml(
    const SandboxProcess& sandbox, const TempDir& secrets, const std::string& office,
    const std::string& user, const std::string& password,
    const std::vector<PlatformBinding>& bindings,
    const std::vector<std::pair<std::string, std::string>>& extra_secrets = {},
    const std::vector<std::string>& platform_settings = {});

// A sandbox and an engine whose offices reach it, for platform end-to-end tests and benchmarks.
struct PlatformStack {
  std::unique_ptr<SandboxProcess> sandbox;
  std::unique_ptr<TempDir> dir;  // the engine's configuration, secrets and store
  std::string config;            // path of the engine's configuration
  std::unique_ptr<EngineProcess> engine;

  // `plugins` are loaded from PluginDir(); `offices` returns the YAML items of `offices:`
  // (usually PlatformOfficeYaml), given the started sandbox and the configuration directory.
  // `store_yaml` replaces the default `store:` section (SQLite in the configuration directory).
  // Both processes run at `clock_offset`.
  static absl::StatusOr<std::unique_ptr<PlatformStack>> Start(
      const std::vector<std::string>& plugins,
      const std::function<std::string(const SandboxProcess&, const TempDir&)>& offices,
      const std::string& log_level = "info", const std::string& store_yaml = "",
      absl::Duration clock_offset = TestClock().offset());
  // Moves both to `offset`: the sandbox by its control, the engine by a restart (its state kept).
  absl::Status MoveClock(absl::Duration offset);
};

std::shared_ptr<grpc::Channel> InsecureChannel(const std::string& target);
// A client's status as the SDK holds one: code, message and the details of
// grpc-status-details-bin, to read with kaigo::sdk::FindDetail.
absl::Status WithDetails(const grpc::Status& status);
// A context with x-kaigo-office set (if non-empty) and a deadline.
std::unique_ptr<grpc::ClientContext> Context(const std::string& office,
                                             absl::Duration deadline = absl::Seconds(10));
// GET http://127.0.0.1:port/path; the body, or an error.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

// A test CA, a server certificate for 127.0.0.1/localhost, and client certificates whose common
// names are given (each with the subject alternative name DNS:<name>.care.example), all PEM files
// in `dir` (name.crt / name.key; the CA as ca.crt/ca.key).
// `rogue` gets a certificate from a different CA.
absl::Status MakeTestCertificates(const std::string& dir, const std::vector<std::string>& clients,
                                  const std::string& rogue = "");
// Makes the SQLite store at `db` refuse (or accept again) every new audit record, as a full disk
// would, through a trigger — for tests of what fails closed. Returns the sqlite3 command's result.
CommandResult RefuseAuditRecords(const std::string& db, bool refuse);
// A loopback TCP port free now (the kernel's choice), for servers that want a number in their
// configuration rather than port 0. Another process could take it before the server binds.
int FreeLoopbackPort();
// A TCP connection to 127.0.0.1:`port` whose reads give up after `read_timeout` (infinite: they
// wait); -1 when refused. The caller closes it.
int ConnectLoopback(int port, absl::Duration read_timeout = absl::Seconds(5));
// What the peer sends on `fd` until it closes the connection or a read times out.
std::string ReadUntilClosed(int fd);
// Starts `argv` with stdout and stderr to `log` (appended); it dies with the test process.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log);
// Starts `argv` with stdout and stderr to `log`, and waits until `ready` (a file the child
// writes when it serves) matches `pattern`; returns the match. The child's pid goes to *pid.
absl::StatusOr<std::smatch> StartChild(const std::vector<std::string>& argv,
                                       const std::string& ready, const std::string& log,
                                       const std::regex& pattern, absl::Duration timeout,
                                       pid_t* pid, std::string* ready_content);
// SIGTERM, then SIGKILL after 10 s; returns the wait status.
int StopChild(pid_t* pid);

}  // namespace kaigo::testing

#endif  // KAIGO_TESTS_SUPPORT_TEST_ENV_H_
