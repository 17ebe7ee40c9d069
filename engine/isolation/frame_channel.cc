#include "engine/isolation/frame_channel.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace kaigo::engine::isolation {

namespace {

absl::Status WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::UnavailableError("the plugin host's channel is closed");
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// OutOfRange when the stream ends before the first byte; Unavailable when it ends midway.
absl::Status ReadAll(int fd, char* data, size_t size) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = read(fd, data + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return got == 0 ? absl::OutOfRangeError("the channel ended")
                      : absl::UnavailableError("the channel ended inside a frame");
    }
    got += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

std::string Encode(const Frame& frame) {
  std::string body = frame.SerializeAsString();
  uint32_t n = static_cast<uint32_t>(body.size());
  std::string out(4, '\0');
  out[0] = static_cast<char>(n >> 24);
  out[1] = static_cast<char>(n >> 16);
  out[2] = static_cast<char>(n >> 8);
  out[3] = static_cast<char>(n);
  out += body;
  return out;
}

}  // namespace

absl::Status WriteFrame(int fd, const Frame& frame) {
  std::string bytes = Encode(frame);
  return WriteAll(fd, bytes.data(), bytes.size());
}

absl::Status ParseFrame(const std::string& bytes, Frame* frame) {
  if (bytes.size() > kMaxFrameBytes || !frame->ParseFromString(bytes)) {
    return absl::DataLossError("a frame that does not parse");
  }
  return absl::OkStatus();
}

absl::Status ReadFrame(int fd, Frame* frame) {
  unsigned char head[4];
  if (absl::Status s = ReadAll(fd, reinterpret_cast<char*>(head), sizeof head); !s.ok()) return s;
  size_t size =
      (size_t{head[0]} << 24) | (size_t{head[1]} << 16) | (size_t{head[2]} << 8) | size_t{head[3]};
  if (size > kMaxFrameBytes) {
    return absl::DataLossError("a frame of " + std::to_string(size) + " bytes (at most " +
                               std::to_string(kMaxFrameBytes) + ")");
  }
  std::string body(size, '\0');
  if (absl::Status s = ReadAll(fd, body.data(), size); !s.ok()) {
    return s.code() == absl::StatusCode::kOutOfRange && size > 0
               ? absl::UnavailableError("the channel ended inside a frame")
               : s;
  }
  return ParseFrame(body, frame);
}

FrameSender::FrameSender(int fd, size_t max_queued_bytes)
    : fd_(fd), max_queued_bytes_(max_queued_bytes), thread_([this] { Run(); }) {}

FrameSender::~FrameSender() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    wake_.notify_all();
  }
  thread_.join();
}

bool FrameSender::Send(const Frame& frame, bool refusable) {
  std::string bytes = Encode(frame);
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_ || stopping_) return false;
  if (refusable && queued_bytes_ + bytes.size() > max_queued_bytes_) return false;
  queued_bytes_ += bytes.size();
  queue_.push_back(std::move(bytes));
  wake_.notify_one();
  return true;
}

void FrameSender::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::string next = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    bool ok = WriteAll(fd_, next.data(), next.size()).ok();
    lock.lock();
    queued_bytes_ -= next.size();
    if (!ok) {
      failed_ = true;  // the reader sees the end of the channel and reports it
      queue_.clear();
      queued_bytes_ = 0;
    }
  }
}

}  // namespace kaigo::engine::isolation
