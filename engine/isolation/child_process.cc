#include "engine/isolation/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace kaigo::engine::isolation {

absl::StatusOr<Child> SpawnChild(const std::string& program, const std::vector<std::string>& args,
                                 const ChildLimits& limits) {
  // [0] ours, [1] the child's, per channel in the order of kChannelFd, kReplyChannelFd,
  // kOutChannelFd.
  int pairs[3][2];
  for (int i = 0; i < 3; ++i) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pairs[i]) != 0) {
      int e = errno;
      for (int j = 0; j < i; ++j) close(pairs[j][0]), close(pairs[j][1]);
      return absl::UnavailableError(absl::StrCat("socketpair: ", strerror(e)));
    }
  }
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> env = limits.environment;
  env.push_back("MALLOC_ARENA_MAX=2");  // arenas reserve 64 MiB each, against the data limit
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings{program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  rlimit data{static_cast<rlim_t>(limits.memory_bytes), static_cast<rlim_t>(limits.memory_bytes)};
  rlimit files{static_cast<rlim_t>(limits.open_files), static_cast<rlim_t>(limits.open_files)};
  rlimit core{0, 0};

  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    for (auto& pair : pairs) close(pair[0]), close(pair[1]);
    return absl::UnavailableError(absl::StrCat("fork: ", strerror(e)));
  }
  if (pid == 0) {
    // Out of the way of the targets first, then onto them (dup2 clears close-on-exec).
    int moved[3];
    for (int i = 0; i < 3; ++i) {
      moved[i] = fcntl(pairs[i][1], F_DUPFD_CLOEXEC, kOutChannelFd + 1);
      if (moved[i] < 0) _exit(127);
    }
    for (int i = 0; i < 3; ++i) {
      if (dup2(moved[i], kChannelFd + i) < 0) _exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (close_range(kOutChannelFd + 1, ~0u, 0) != 0) {
      for (int fd = kOutChannelFd + 1; fd < 65536; ++fd) close(fd);
    }
    setrlimit(RLIMIT_CORE, &core);
    if (limits.memory_bytes > 0) setrlimit(RLIMIT_DATA, &data);
    if (limits.open_files > 0) setrlimit(RLIMIT_NOFILE, &files);
    execve(program.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  for (auto& pair : pairs) close(pair[1]);
  return Child{pid, pairs[0][0], pairs[1][0], pairs[2][0]};
}

std::string DescribeExit(int wait_status) {
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    const char* abbrev = sigabbrev_np(sig);
    return absl::StrCat("killed by signal ", sig, abbrev != nullptr ? " (SIG" : "",
                        abbrev != nullptr ? abbrev : "", abbrev != nullptr ? ")" : "");
  }
  if (WIFEXITED(wait_status)) {
    int code = WEXITSTATUS(wait_status);
    if (code == kOutOfMemoryExit) return "exceeded its memory limit";
    if (code == kPluginExceptionExit) return "let a C++ exception escape the plugin ABI";
    if (code == kApiReleaseExit) return "was built against another release of the kaigo API";
    if (code == 127) return "could not be started (exit status 127)";
    return absl::StrCat("exited with status ", code);
  }
  return "ended";
}

std::string FindPluginHost() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "kaigo-plugin-host";
  auto dir = self.parent_path();
  for (const auto& candidate :
       {dir / "kaigo-plugin-host", dir / ".." / "libexec" / "kaigo-bridge" / "kaigo-plugin-host"}) {
    if (std::filesystem::exists(candidate, ec)) return candidate.lexically_normal().string();
  }
  return (dir / "kaigo-plugin-host").string();
}

}  // namespace kaigo::engine::isolation
