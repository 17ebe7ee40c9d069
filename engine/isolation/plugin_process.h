// One plugin image run in a kaigo-plugin-host child process (`isolation: process`), seen by the
// engine as an ordinary call target: PluginProcess bridges the C ABI over the child's channel —
// calls, streams, cancellation, and every host service, which the engine serves with the
// instance's own kaigo_host.
//
// Containment. A child that dies (signal, exit, lost channel, memory limit) fails only its calls
// in flight, with UNAVAILABLE naming the plugin and how it ended, and is started again: at once
// the first time, then after a backoff that doubles up to 30 s. From the third crash without a
// call finished in between the breaker is open ("failing"): calls fail fast while the child is
// down and, once it is back, one trial call at a time goes through until one finishes. A call the
// engine cancelled is finished for its caller at once; a child that has not finished it
// `hang_grace` later is killed as hung.
//
// What the child may do is no more than what its instances' host services allow, and less for
// secrets: only the names the instance's settings mention.
//
// The engine never loads an isolated image itself: the process reports the manifest.
//
// Thread-safe. Instances keep their process alive (a shared_ptr); the destructor stops the child.
#ifndef KAIGO_ENGINE_ISOLATION_PLUGIN_PROCESS_H_
#define KAIGO_ENGINE_ISOLATION_PLUGIN_PROCESS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/isolation/child_process.h"
#include "engine/isolation/frame_channel.h"
#include "kaigo/plugin.h"
#include "kaigo/sdk/internal/host_side.h"
#include "kaigo/sdk/internal/manifest_check.h"
#include "kaigo/sdk/worker_pool.h"

namespace kaigo::engine::isolation {

// The manifest an isolated image's process reports in its Ready (what it read from the image's
// kaigo_manifest, its API release already checked there); the engine checks the rest as it checks
// a loaded image's (kaigo/sdk/internal/manifest_check.h).
using ImageManifest = sdk::internal::ImageManifest;

struct ProcessOptions {
  std::string plugin_name;
  std::string image_path;
  std::string image_sha256;
  std::string host_program;  // kaigo-plugin-host
  ChildLimits limits;
  std::chrono::milliseconds hang_grace{10000};
  std::chrono::milliseconds start_timeout{30000};
  // The engine's host services; each instance's calls pass its own kaigo_host.
  const kaigo_host_api* host_api = nullptr;
  // Told of each child's end (how it ended), for the log and metrics.
  std::function<void(const std::string& how)> on_exit;
};

// What ListPlugins shows of a process.
struct ProcessRuntime {
  std::string state;  // "running", "restarting", "failing" (breaker open), "stopped"
  int restarts = 0;
  std::string last_exit;
  int pid = 0;
};

class PluginProcess {
 public:
  // Starts the child and waits until it has loaded the image.
  static absl::StatusOr<std::shared_ptr<PluginProcess>> Start(ProcessOptions options);
  ~PluginProcess();
  PluginProcess(const PluginProcess&) = delete;
  PluginProcess& operator=(const PluginProcess&) = delete;

  // Creates an instance in the child and waits for it. `host` is what the engine's host services
  // know the instance by; `secrets` the names it may read.
  absl::StatusOr<uint64_t> CreateInstance(kaigo_host* host, const std::string& office,
                                          const std::string& settings,
                                          std::set<std::string> secrets);
  void DestroyInstance(uint64_t instance);
  // The call target of an instance; `keepalive` is held by every call to it.
  sdk::host::Target TargetOf(uint64_t instance, std::shared_ptr<void> keepalive);

  ProcessRuntime runtime() const;
  const ProcessOptions& options() const { return options_; }
  // The manifest the first process reported.
  const ImageManifest& manifest() const { return manifest_; }

 private:
  struct Instance;
  struct InFlight;
  struct Outgoing;
  friend struct ProxyApi;

  explicit PluginProcess(ProcessOptions options);
  // The supervisor: starts the child, reads its frames, and starts it again when it ends.
  void Supervise();
  // Reads frames until the channel ends or the child hangs; returns why it ended for the caller.
  std::string ReadUntilEnd(int fd, pid_t pid);
  // A frame from the child, handed to the handler of its kind.
  void Dispatch(Frame& frame);
  // The child is up: its manifest kept (first start only), instances created again.
  void OnReady(const Ready& ready);
  void OnCreated(const Created& created);
  // A message of a server stream; a caller gone or too slow cancels the call in the child.
  void OnCallWrite(const CallWrite& write);
  // A call's answer; any answer closes the breaker.
  void OnCallFinish(const CallFinish& finish);
  // Queued for the host workers; refused RESOURCE_EXHAUSTED when the queue is full.
  void OnHostRequest(HostRequest* incoming);
  void OnLogOrMetric(const Frame& frame);
  void OnOutgoingCancel(uint64_t id);
  void ServeHostRequest(const HostRequest& request, uint64_t generation);
  void StartOutgoing(const OutgoingStart& start);
  void ReleaseFinishedOutgoing();
  // Fails every call in flight and drops the child's outgoing calls; returns how long to wait
  // before the next start.
  std::chrono::milliseconds OnChildEnded(const std::string& how);
  void SendCreate(uint64_t id, const Instance& instance);

  void StartCall(Instance* instance, kaigo_call* call, const kaigo_call_info* info,
                 kaigo_bytes request, void** call_ctx);
  void CancelCall(uint64_t id);
  // Finishes the call for its caller once; later frames for it are ignored.
  static void FinishOnce(InFlight& call, const absl::Status& status, std::string_view response);
  std::shared_ptr<InFlight> TakeCall(uint64_t id);
  // With mu_ held: an instance kept from destruction while its host services run (nullptr when
  // gone), given back with GiveBackLocked; and a call in flight by id (nullptr when over).
  Instance* BorrowLocked(uint64_t id);
  void GiveBackLocked(uint64_t id);
  std::shared_ptr<InFlight> FindCallLocked(uint64_t id) const;

  const ProcessOptions options_;
  ImageManifest manifest_;  // set once, before Start returns
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::string state_ = "restarting";
  bool stopping_ = false;
  bool up_ = false;  // a child has loaded the image and takes calls
  int restarts_ = 0;
  int failures_ = 0;  // child ends since a call last finished
  bool trial_in_flight_ = false;
  std::string last_exit_;
  pid_t pid_ = 0;
  uint64_t generation_ = 0;  // counts children: replies for an ended one are dropped
  // The running child's channels (child_process.h): calls, and replies; outgoing calls keep theirs.
  std::shared_ptr<FrameSender> sender_;
  std::shared_ptr<FrameSender> reply_sender_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Instance>> instances_;
  std::map<uint64_t, std::shared_ptr<InFlight>> calls_;
  // Calls finished for their caller after a cancel, by id: when the child must have finished them.
  std::map<uint64_t, std::chrono::steady_clock::time_point> hang_watch_;
  std::map<uint64_t, std::shared_ptr<Outgoing>> outgoing_;
  std::vector<kaigo_outgoing_call*> to_release_;
  sdk::WorkerPool host_work_{8};
  std::thread supervisor_;
};

}  // namespace kaigo::engine::isolation

#endif  // KAIGO_ENGINE_ISOLATION_PLUGIN_PROCESS_H_
