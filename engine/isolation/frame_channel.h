// Frames over a stream socket between the engine and a kaigo-plugin-host child (wire.proto): a
// 4-byte big-endian length, then the serialized Frame. Both ends treat what they read as outside
// input: a length over kMaxFrameBytes or bytes that do not parse end the channel.
#ifndef KAIGO_ENGINE_ISOLATION_FRAME_CHANNEL_H_
#define KAIGO_ENGINE_ISOLATION_FRAME_CHANNEL_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "engine/isolation/wire.pb.h"

namespace kaigo::engine::isolation {

// The largest frame either end accepts: a message at gRPC's largest configurable size (64 MiB)
// and its envelope.
inline constexpr size_t kMaxFrameBytes = (64u << 20) + (1u << 20);

// Writes one whole frame. Not thread-safe on one fd: callers serialize.
absl::Status WriteFrame(int fd, const Frame& frame);
// Parses one frame's bytes (without the length), for the reader and the fuzz target.
absl::Status ParseFrame(const char* data, size_t size, Frame* frame);

// Reads frames from one descriptor, as many per read(2) as have arrived. Not thread-safe.
class FrameReader {
 public:
  // With `timeout_ms` >= 0, Next waits at most that long for bytes (SO_RCVTIMEO: no poll(2) per
  // read); else without limit.
  FrameReader(int fd, int timeout_ms = -1);
  // The next frame. DeadlineExceeded
  // when none came in time, OutOfRange at a clean end of stream, DataLoss for a frame that is too
  // large or does not parse, Unavailable when the stream ends inside a frame.
  absl::Status Next(Frame* frame);

 private:
  const int fd_;
  std::string buffer_;
  size_t start_ = 0;  // where the unread bytes of buffer_ begin
};

// Sends frames without making any caller wait for the peer to read, in order. The caller that finds
// nobody writing becomes the writer: it writes what is queued (its frame and any that others queue
// meanwhile, several per sendmsg) without blocking and without holding the lock over the syscall,
// so concurrent senders neither wait on each other nor wake anyone; when the socket is full it
// hands the rest to a thread of its own. Frames that may be refused (a new call's request) count
// against `max_queued_bytes`; replies the peer waits for are always queued. Thread-safe; the
// destructor stops the thread and drops what is still queued.
class FrameSender {
 public:
  FrameSender(int fd, size_t max_queued_bytes);
  ~FrameSender();
  FrameSender(const FrameSender&) = delete;
  FrameSender& operator=(const FrameSender&) = delete;

  // False when the frame was refused (the queue is full, or the channel has failed).
  bool Send(const Frame& frame, bool refusable = false);

 private:
  enum class Writer { kNone, kCaller, kThread };
  // Writes the queue until it is empty (true) or the socket is full (false), unlocking `lock` over
  // each syscall. Only the writer calls it.
  bool WriteQueued(std::unique_lock<std::mutex>& lock, bool blocking);
  void Run();

  const int fd_;
  const size_t max_queued_bytes_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;  // the front may be partly written: see written_
  size_t written_ = 0;             // bytes of queue_.front() already sent
  size_t queued_bytes_ = 0;
  Writer writer_ = Writer::kNone;
  bool stopping_ = false;
  bool failed_ = false;
  std::thread thread_;
};

}  // namespace kaigo::engine::isolation

#endif  // KAIGO_ENGINE_ISOLATION_FRAME_CHANNEL_H_
