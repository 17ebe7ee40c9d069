#include "tests/support/test_env.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "kaigo/identifiers.h"
#include "kaigo/sdk/error_details.h"

namespace kaigo::testing {

namespace fs = std::filesystem;

namespace {
std::string Env(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return fs::absolute(v != nullptr ? v : fallback).lexically_normal().string();
}
}  // namespace

const Clock& TestClock() {
  static const Clock* clock = [] {
    absl::Duration offset;
    if (const char* text = getenv("KAIGO_TEST_CLOCK_OFFSET"); text != nullptr && *text != '\0') {
      auto parsed = ParseClockOffset(text);
      if (!parsed.ok()) {
        fprintf(stderr, "KAIGO_TEST_CLOCK_OFFSET: %s\n",
                std::string(parsed.status().message()).c_str());
        abort();
      }
      offset = *parsed;
    }
    return new Clock(offset);
  }();
  return *clock;
}

std::string TestMonth() {
  absl::CivilDay today = TestToday();
  return absl::StrFormat("%04d%02d", today.year(), today.month());
}

std::string BuildDir() { return Env("KAIGO_BUILD_DIR", "build"); }
std::string SourceDir() { return Env("KAIGO_SOURCE_DIR", "."); }
std::string PluginDir() { return Env("KAIGO_PLUGIN_DIR", "build/plugins"); }
std::string EngineBinary() { return BuildDir() + "/engine/kaigo-bridge"; }

std::string Office(const std::string& first_nine) {
  return first_nine + OfficeNumberCheckDigit(first_nine);
}

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "kaigo-test-XXXXXX").string();
  path_ = mkdtemp(pattern.data());
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void TempDir::WriteAt(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  std::string full = path_ + "/" + name;
  fs::create_directories(fs::path(full).parent_path());
  std::ofstream(full, std::ios::binary) << content;
  return full;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) result.output.append(buf, n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

CommandResult RefuseAuditRecords(const std::string& db, bool refuse) {
  return RunCommand("sqlite3 " + db + " \"" +
                    (refuse ? "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log BEGIN "
                              "SELECT RAISE(ABORT, 'full'); END;"
                            : "DROP TRIGGER refuse_audit;") +
                    "\"");
}

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t size = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size);
  close(fd);
  return ntohs(addr.sin_port);
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    // If the test process dies without stopping us (a crash), we go too.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 2);
    dup2(fd, 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

absl::StatusOr<std::smatch> StartChild(const std::vector<std::string>& argv,
                                       const std::string& ready, const std::string& log,
                                       const std::regex& pattern, absl::Duration timeout,
                                       pid_t* pid, std::string* ready_content) {
  unlink(ready.c_str());
  *pid = Spawn(argv, log);
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    *ready_content = ReadFile(ready);
    std::smatch m;
    if (std::regex_search(*ready_content, m, pattern)) return m;
    int status;
    if (waitpid(*pid, &status, WNOHANG) == *pid) {
      *pid = -1;
      return absl::InternalError(argv[0] + " exited at start:\n" + ReadFile(log));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  StopChild(pid);
  return absl::DeadlineExceededError(argv[0] + " did not become ready:\n" + ReadFile(log));
}

int StopChild(pid_t* pid) {
  if (*pid <= 0) return -1;
  kill(*pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    if (waitpid(*pid, &status, WNOHANG) == *pid) {
      *pid = -1;
      return status;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  kill(*pid, SIGKILL);
  waitpid(*pid, &status, 0);
  *pid = -1;
  return status;
}

absl::StatusOr<std::unique_ptr<EngineProcess>> EngineProcess::Start(const std::string& config,
                                                                    absl::Duration timeout,
                                                                    absl::Duration clock_offset) {
  auto engine = std::unique_ptr<EngineProcess>(new EngineProcess());
  engine->dir_ = std::make_unique<TempDir>();
  std::string ready = engine->dir_->path() + "/ready.json";
  engine->log_path_ = engine->dir_->path() + "/engine.log";
  std::string content;
  std::vector<std::string> argv = {EngineBinary(), "serve",        "--config",
                                   config,         "--ready-file", ready};
  if (clock_offset != absl::ZeroDuration()) {
    argv.insert(argv.end(), {"--clock-offset", absl::StrCat(absl::ToInt64Seconds(clock_offset))});
  }
  auto m = StartChild(
      argv, ready, engine->log_path_,
      std::regex("\"grpc_port\":([0-9]+),\"metrics_port\":([0-9]+),\"health_port\":([0-9]+),"
                 "\"http_port\":([0-9]+)"),
      timeout, &engine->pid_, &content);
  if (!m.ok()) return m.status();
  engine->grpc_port_ = std::stoi((*m)[1]);
  engine->metrics_port_ = std::stoi((*m)[2]);
  engine->health_port_ = std::stoi((*m)[3]);
  engine->http_port_ = std::stoi((*m)[4]);
  return engine;
}

EngineProcess::~EngineProcess() { Stop(); }

void EngineProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

int EngineProcess::Stop() { return StopChild(&pid_); }

absl::StatusOr<std::unique_ptr<SandboxProcess>> SandboxProcess::Start(absl::Duration clock_offset) {
  auto sandbox = std::unique_ptr<SandboxProcess>(new SandboxProcess());
  sandbox->dir_ = std::make_unique<TempDir>();
  sandbox->clock_offset_ = clock_offset;
  std::string binary = BuildDir() + "/sandbox/kaigo-sandbox";
  CommandResult certs =
      // Valid for three years: tests that move the clock across years keep their certificates.
      RunCommand(absl::StrCat(binary, " make-certs --dir ", sandbox->dir(), " --clock-offset ",
                              absl::ToInt64Seconds(clock_offset), " --valid-days 1100"));
  if (certs.exit_code != 0) return absl::InternalError("make-certs: " + certs.output);
  if (absl::Status s = sandbox->Launch(0); !s.ok()) return s;
  return sandbox;
}

absl::Status SandboxProcess::Launch(int port) {
  std::string ready = dir() + "/ready.json";
  std::string content;
  auto m = StartChild({BuildDir() + "/sandbox/kaigo-sandbox", "serve", "--dir", dir(), "--listen",
                       "127.0.0.1:" + std::to_string(port), "--ready-file", ready, "--clock-offset",
                       absl::StrCat(absl::ToInt64Seconds(clock_offset_))},
                      ready, dir() + "/sandbox.log", std::regex("\"port\":([0-9]+)"),
                      absl::Seconds(20), &pid_, &content);
  if (!m.ok()) return m.status();
  port_ = std::stoi((*m)[1]);
  return absl::OkStatus();
}

SandboxProcess::~SandboxProcess() { Stop(); }

int SandboxProcess::Stop() { return StopChild(&pid_); }

absl::Status SandboxProcess::Restart() { return Launch(port_); }

absl::Status SandboxProcess::Control(const std::string& path, const std::string& json) const {
  std::string office = dir() + "/office-1371000017";
  CommandResult r =
      RunCommand("curl -sS --fail --cacert " + dir() + "/ca.crt --cert " + office + ".crt --key " +
                 office + ".key -H 'X-Sandbox-Control: " + ReadFile(dir() + "/control.token") +
                 "' -H 'Content-Type: application/json' -d '" + json + "' " + base_url() + path);
  if (r.exit_code != 0) return absl::InternalError(path + ": " + r.output);
  return absl::OkStatus();
}

absl::Status SandboxProcess::Faults(const std::string& json) const {
  return Control("/sandbox/faults", json);
}

absl::Status SandboxProcess::SetClockOffset(absl::Duration offset) {
  clock_offset_ = offset;
  return Control("/sandbox/clock",
                 absl::StrCat("{\"offset_seconds\":", absl::ToInt64Seconds(offset), "}"));
}

std::string EngineProcess::Log() const { return ReadFile(log_path_); }

std::string PlatformOfficeYaml(
    const SandboxProcess& sandbox, const TempDir& secrets, const std::string& office,
    const std::string& user, const std::string& password,
    const std::vector<PlatformBinding>& bindings,
    const std::vector<std::pair<std::string, std::string>>& extra_secrets,
    const std::vector<std::string>& platform_settings) {
  secrets.Write("secrets/p12_password", "sandbox\n");
  secrets.Write("secrets/" + user, user + "\n");
  std::string env = "KAIGO_TEST_PASSWORD_" + office;
  setenv(env.c_str(), password.c_str(), 1);  // inherited by the engine started later
  std::string yaml = "  - number: \"" + office + "\"\n    concerns:\n";
  for (const auto& b : bindings) {
    yaml +=
        "      - service: " + b.service + "\n        plugin: " + b.plugin + "\n        settings:\n";
    for (const auto& line : b.settings) yaml += "          " + line + "\n";
    if (!b.platform) continue;
    yaml += "          platform:\n            base_url: " + sandbox.base_url() +
            "\n            ca_secret: platform_ca\n            certificate_secret: certificate\n"
            "            certificate_password_secret: certificate_password\n"
            "            user_id_secret: user\n            password_secret: password\n"
            "            max_attempts: 2\n";
    for (const auto& line : platform_settings) yaml += "            " + line + "\n";
  }
  yaml +=
      "    secrets:\n"
      "      - {name: platform_ca, ref: {file: " +
      sandbox.dir() +
      "/ca.crt}}\n"
      "      - {name: certificate, ref: {file: " +
      sandbox.dir() + "/office-" + office +
      ".p12}}\n"
      "      - {name: certificate_password, ref: {file: secrets/p12_password}}\n"
      "      - {name: user, ref: {file: secrets/" +
      user +
      "}}\n"
      "      - {name: password, ref: {env: " +
      env + "}}\n";
  for (const auto& [name, file] : extra_secrets) {
    yaml += "      - {name: " + name + ", ref: {file: " + file + "}}\n";
  }
  return yaml;
}

absl::StatusOr<std::unique_ptr<PlatformStack>> PlatformStack::Start(
    const std::vector<std::string>& plugins,
    const std::function<std::string(const SandboxProcess&, const TempDir&)>& offices,
    const std::string& log_level, const std::string& store_yaml, absl::Duration clock_offset) {
  auto stack = std::make_unique<PlatformStack>();
  auto sandbox = SandboxProcess::Start(clock_offset);
  if (!sandbox.ok()) return sandbox.status();
  stack->sandbox = *std::move(sandbox);
  stack->dir = std::make_unique<TempDir>();
  std::string yaml = "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\nplugins:\n";
  for (const auto& p : plugins)
    yaml += "  - {name: " + p + ", path: " + PluginDir() + "/" + p + ".so}\n";
  // The engine's keys (README: Deploying), as an integrator makes them.
  stack->dir->Write("keys/audit.key", std::string(64, 'a') + "\n");
  stack->dir->Write("keys/recipient-ref.key", std::string(64, 'r') + "\n");
  stack->dir->Write("keys/sealing.key", std::string(64, 's') + "\n");
  yaml += "offices:\n" + offices(*stack->sandbox, *stack->dir) +
          (store_yaml.empty() ? "store:\n  sqlite_path: state.db\n" : store_yaml) +
          "keys:\n  audit: {id: test-audit-1, secret: {file: keys/audit.key}}\n"
          "  recipient_ref: {id: test-ref-1, secret: {file: keys/recipient-ref.key}}\n"
          "  sealing: {id: test-seal-1, secret: {file: keys/sealing.key}}\n"
          "log:\n  level: " +
          log_level + "\n";
  stack->config = stack->dir->Write("engine.yaml", yaml);
  auto engine = EngineProcess::Start(stack->config, absl::Seconds(20), clock_offset);
  if (!engine.ok()) return engine.status();
  stack->engine = *std::move(engine);
  return stack;
}

absl::Status PlatformStack::MoveClock(absl::Duration offset) {
  if (absl::Status s = sandbox->SetClockOffset(offset); !s.ok()) return s;
  engine->Stop();
  auto restarted = EngineProcess::Start(config, absl::Seconds(20), offset);
  if (!restarted.ok()) return restarted.status();
  engine = *std::move(restarted);
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> InsecureChannel(const std::string& target) {
  return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
}

absl::Status WithDetails(const grpc::Status& status) {
  return sdk::WithSerializedDetails(
      absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message()),
      status.error_details());
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& office, absl::Duration deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!office.empty()) context->AddMetadata("x-kaigo-office", office);
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  return context;
}

int ConnectLoopback(int port, absl::Duration read_timeout) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  if (read_timeout != absl::InfiniteDuration()) {
    timeval wait = absl::ToTimeval(read_timeout);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  }
  return fd;
}

std::string ReadUntilClosed(int fd) {
  std::string out;
  char buf[8192];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
  return out;
}

absl::StatusOr<std::string> HttpGet(int port, const std::string& path) {
  int fd = ConnectLoopback(port, absl::InfiniteDuration());
  if (fd < 0) return absl::UnavailableError("cannot connect");
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response = ReadUntilClosed(fd);
  close(fd);
  size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) {
    return absl::NotFoundError(response.substr(0, 64));
  }
  return response.substr(body + 4);
}

absl::Status MakeTestCertificates(const std::string& dir, const std::vector<std::string>& clients,
                                  const std::string& rogue) {
  auto run = [](const std::string& cmd) { return RunCommand(cmd); };
  auto ca = [&](const std::string& name) {
    return run(absl::StrCat("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=", name,
                            "-test-ca -keyout ", dir, "/", name, ".key -out ", dir, "/", name,
                            ".crt"));
  };
  auto leaf = [&](const std::string& name, const std::string& issuer, const std::string& ext) {
    std::string ext_file = dir + "/" + name + ".ext";
    std::ofstream(ext_file) << ext;
    auto csr = run(absl::StrCat("openssl req -newkey rsa:2048 -nodes -subj /CN=", name, " -keyout ",
                                dir, "/", name, ".key -out ", dir, "/", name, ".csr"));
    if (csr.exit_code != 0) return csr;
    return run(absl::StrCat("openssl x509 -req -days 2 -in ", dir, "/", name, ".csr -CA ", dir, "/",
                            issuer, ".crt -CAkey ", dir, "/", issuer,
                            ".key -CAcreateserial -extfile ", ext_file, " -out ", dir, "/", name,
                            ".crt"));
  };
  for (auto r : {ca("ca"), leaf("server", "ca",
                                "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                "extendedKeyUsage=serverAuth\n")}) {
    if (r.exit_code != 0) return absl::InternalError(r.output);
  }
  for (const auto& client : clients) {
    // Each client also names itself in a subject alternative name, <name>.care.example.
    auto r = leaf(client, "ca",
                  "extendedKeyUsage=clientAuth\nsubjectAltName=DNS:" + client + ".care.example\n");
    if (r.exit_code != 0) return absl::InternalError(r.output);
  }
  if (!rogue.empty()) {
    auto r1 = ca("rogue-ca");
    auto r2 = leaf(rogue, "rogue-ca", "extendedKeyUsage=clientAuth\n");
    if (r1.exit_code != 0 || r2.exit_code != 0) return absl::InternalError(r1.output + r2.output);
  }
  return absl::OkStatus();
}

}  // namespace kaigo::testing
