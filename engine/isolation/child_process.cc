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
  int fds[2], reply_fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return absl::UnavailableError(absl::StrCat("socketpair: ", strerror(errno)));
  }
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, reply_fds) != 0) {
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    return absl::UnavailableError(absl::StrCat("socketpair: ", strerror(e)));
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
    for (int fd : {fds[0], fds[1], reply_fds[0], reply_fds[1]}) close(fd);
    return absl::UnavailableError(absl::StrCat("fork: ", strerror(e)));
  }
  if (pid == 0) {
    // Out of the way of the targets first, then onto them (dup3 clears close-on-exec).
    int calls = fcntl(fds[1], F_DUPFD_CLOEXEC, kReplyChannelFd + 1);
    int replies = fcntl(reply_fds[1], F_DUPFD_CLOEXEC, kReplyChannelFd + 1);
    if (calls < 0 || replies < 0 || dup2(calls, kChannelFd) < 0 ||
        dup2(replies, kReplyChannelFd) < 0) {
      _exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (close_range(kReplyChannelFd + 1, ~0u, 0) != 0) {
      for (int fd = kReplyChannelFd + 1; fd < 65536; ++fd) close(fd);
    }
    setrlimit(RLIMIT_CORE, &core);
    if (limits.memory_bytes > 0) setrlimit(RLIMIT_DATA, &data);
    if (limits.open_files > 0) setrlimit(RLIMIT_NOFILE, &files);
    execve(program.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(fds[1]);
  close(reply_fds[1]);
  return Child{pid, fds[0], reply_fds[0]};
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
