// One JSON object per line on stderr: {"ts":…,"level":…,"msg":…, plus fields}. Personal data never
// goes into a field; callers pass references (request id, office number, method). When stderr is
// the journal's stream (JOURNAL_STREAM names it, as systemd sets it), each line starts with its
// syslog priority, `<3>` error … `<7>` debug, so journald stores errors as errors.
// Thread-safe.
#ifndef KAIGO_ENGINE_LOG_JSON_LOGGER_H_
#define KAIGO_ENGINE_LOG_JSON_LOGGER_H_

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace kaigo::engine {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name);

// Whether `fd` is the stream `journal_stream` ("DEVICE:INODE", systemd's JOURNAL_STREAM; null when
// unset) names.
bool StreamIsJournal(const char* journal_stream, int fd);

class JsonLogger {
 public:
  using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  explicit JsonLogger(FILE* out = stderr)
      : out_(out), journal_(StreamIsJournal(getenv("JOURNAL_STREAM"), fileno(out))) {}

  void SetLevel(LogLevel level) { level_.store(level); }
  bool Enabled(LogLevel level) const { return level >= level_.load(); }
  void Log(LogLevel level, std::string_view message, Fields fields = {});

  void Debug(std::string_view m, Fields f = {}) { Log(LogLevel::kDebug, m, f); }
  void Info(std::string_view m, Fields f = {}) { Log(LogLevel::kInfo, m, f); }
  void Warn(std::string_view m, Fields f = {}) { Log(LogLevel::kWarn, m, f); }
  void Error(std::string_view m, Fields f = {}) { Log(LogLevel::kError, m, f); }

 private:
  FILE* out_;
  const bool journal_;
  std::atomic<LogLevel> level_{LogLevel::kInfo};
  std::mutex mu_;
};

// Appends `s` to `out` as a JSON string literal (quotes included).
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_LOG_JSON_LOGGER_H_
