// Starting a kaigo-plugin-host child with its limits, and saying how it ended.
#ifndef KAIGO_ENGINE_ISOLATION_CHILD_PROCESS_H_
#define KAIGO_ENGINE_ISOLATION_CHILD_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kaigo::engine::isolation {

// The exit status kaigo-plugin-host uses when an allocation fails: the child reached its memory
// limit (a plugin that catches std::bad_alloc would otherwise limp on).
inline constexpr int kOutOfMemoryExit = 86;
// ... and when the plugin lets a C++ exception out of an ABI function, which kaigo/plugin.h
// forbids: the state it left behind cannot be trusted.
inline constexpr int kPluginExceptionExit = 87;
// ... and when the image's manifest names another release of the kaigo API (it writes the
// reason, naming both releases, to its standard error).
inline constexpr int kApiReleaseExit = 88;
// The descriptors the child finds its channels on, each one way: calls (the engine's creates,
// destroys and call starts), replies (host service replies, cancels, the replies of outgoing calls;
// apart so that a plugin running a call never keeps a reply from its reader) and out (everything
// the child sends). One way each because a reader of a two-way stream socket wakes the peer's
// reader whenever it frees buffer space: a wasted context switch per frame on each side.
inline constexpr int kChannelFd = 3;
inline constexpr int kReplyChannelFd = 4;
inline constexpr int kOutChannelFd = 5;

struct ChildLimits {
  // RLIMIT_DATA: heap, thread stacks and other private writable mappings. 0: no limit.
  int64_t memory_bytes = 0;
  int open_files = 256;  // RLIMIT_NOFILE
  // "NAME=value" entries: the child's whole environment besides MALLOC_ARENA_MAX.
  std::vector<std::string> environment;
};

struct Child {
  pid_t pid = -1;
  // Our ends; the caller closes them.
  int fd = -1;        // the calls channel (we write)
  int reply_fd = -1;  // the replies channel (we write)
  int out_fd = -1;    // the child's out channel (we read)
};

// Starts `program` with `args` (argv[1..]) and the channels on kChannelFd, kReplyChannelFd and
// kOutChannelFd; no other descriptor, no core dumps, the limits above. The child is in the engine's
// process group, so stopping the engine's group stops it too, and it ends by itself when the
// channel closes.
absl::StatusOr<Child> SpawnChild(const std::string& program, const std::vector<std::string>& args,
                                 const ChildLimits& limits);

// How a child ended, for callers and operators: "killed by signal 11 (SIGSEGV)",
// "exceeded its memory limit", "exited with status 2".
std::string DescribeExit(int wait_status);

// The kaigo-plugin-host beside the running engine: in its directory, or ../libexec/kaigo-bridge/.
std::string FindPluginHost();

}  // namespace kaigo::engine::isolation

#endif  // KAIGO_ENGINE_ISOLATION_CHILD_PROCESS_H_
