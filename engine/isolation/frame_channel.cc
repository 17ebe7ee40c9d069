#include "engine/isolation/frame_channel.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
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

std::string Encode(const Frame& frame) {
  size_t n = frame.ByteSizeLong();
  std::string out(4 + n, '\0');
  out[0] = static_cast<char>(n >> 24);
  out[1] = static_cast<char>(n >> 16);
  out[2] = static_cast<char>(n >> 8);
  out[3] = static_cast<char>(n);
  frame.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out.data() + 4));
  return out;
}

}  // namespace

absl::Status WriteFrame(int fd, const Frame& frame) {
  std::string bytes = Encode(frame);
  return WriteAll(fd, bytes.data(), bytes.size());
}

absl::Status ParseFrame(const char* data, size_t size, Frame* frame) {
  if (size > kMaxFrameBytes || !frame->ParseFromArray(data, static_cast<int>(size))) {
    return absl::DataLossError("a frame that does not parse");
  }
  return absl::OkStatus();
}

FrameReader::FrameReader(int fd, int timeout_ms) : fd_(fd) {
  if (timeout_ms >= 0) {
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
}

absl::Status FrameReader::Next(Frame* frame) {
  for (;;) {
    size_t available = buffer_.size() - start_;
    if (available >= 4) {
      const auto* head = reinterpret_cast<const unsigned char*>(buffer_.data() + start_);
      size_t size = (size_t{head[0]} << 24) | (size_t{head[1]} << 16) | (size_t{head[2]} << 8) |
                    size_t{head[3]};
      if (size > kMaxFrameBytes) {
        return absl::DataLossError("a frame of " + std::to_string(size) + " bytes (at most " +
                                   std::to_string(kMaxFrameBytes) + ")");
      }
      if (available >= 4 + size) {
        absl::Status parsed = ParseFrame(buffer_.data() + start_ + 4, size, frame);
        start_ += 4 + size;
        return parsed;
      }
      buffer_.reserve(start_ + 4 + size);
    }
    if (start_ > 0 && start_ == buffer_.size()) {
      buffer_.clear();
      start_ = 0;
    } else if (start_ > (1u << 20)) {
      buffer_.erase(0, start_);
      start_ = 0;
    }
    char chunk[64 * 1024];
    ssize_t n = read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return absl::DeadlineExceededError("no frame yet");
    }
    if (n <= 0) {
      return buffer_.size() == start_ ? absl::OutOfRangeError("the channel ended")
                                      : absl::UnavailableError("the channel ended inside a frame");
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
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
  std::unique_lock<std::mutex> lock(mu_);
  if (failed_ || stopping_) return false;
  if (refusable && queued_bytes_ + bytes.size() > max_queued_bytes_) return false;
  queued_bytes_ += bytes.size();
  queue_.push_back(std::move(bytes));
  if (writer_ != Writer::kNone) return true;  // the writer takes it with the rest
  writer_ = Writer::kCaller;
  if (WriteQueued(lock, /*blocking=*/false)) {
    writer_ = Writer::kNone;
  } else if (!failed_) {
    writer_ = Writer::kThread;
    wake_.notify_one();
  }
  return true;
}

bool FrameSender::WriteQueued(std::unique_lock<std::mutex>& lock, bool blocking) {
  constexpr size_t kMaxBatch = 64;
  while (!queue_.empty() && !stopping_) {
    iovec iov[kMaxBatch];
    size_t count = 0;
    for (auto it = queue_.begin(); it != queue_.end() && count < kMaxBatch; ++it, ++count) {
      size_t skip = count == 0 ? written_ : 0;
      iov[count] = {it->data() + skip, it->size() - skip};
    }
    msghdr message{};
    message.msg_iov = iov;
    message.msg_iovlen = count;
    // The frames stay in the queue while unlocked: others only append, and only the writer pops.
    lock.unlock();
    ssize_t n = sendmsg(fd_, &message, MSG_NOSIGNAL | (blocking ? 0 : MSG_DONTWAIT));
    int error = errno;
    lock.lock();
    if (n < 0) {
      if (error == EINTR) continue;
      if (error == EAGAIN || error == EWOULDBLOCK) return false;
      failed_ = true;  // the reader sees the end of the channel and reports it
      queue_.clear();
      queued_bytes_ = 0;
      written_ = 0;
      return false;
    }
    size_t sent = static_cast<size_t>(n);
    queued_bytes_ -= sent;
    while (sent > 0) {
      size_t rest = queue_.front().size() - written_;
      if (sent < rest) {
        written_ += sent;
        break;
      }
      sent -= rest;
      written_ = 0;
      queue_.pop_front();
    }
  }
  return true;
}

void FrameSender::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || writer_ == Writer::kThread; });
    if (stopping_) return;
    WriteQueued(lock, /*blocking=*/true);
    writer_ = Writer::kNone;
  }
}

}  // namespace kaigo::engine::isolation
