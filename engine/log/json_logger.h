// One JSON object per line on stderr: {"ts":…,"level":…,"msg":…, plus fields}. Personal data never
// goes into a field; callers pass references (request id, office number, method).
// Thread-safe.
#ifndef KAIGO_ENGINE_LOG_JSON_LOGGER_H_
#define KAIGO_ENGINE_LOG_JSON_LOGGER_H_

#include <atomic>
#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace kaigo::engine {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name);

class JsonLogger {
 public:
  using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  explicit JsonLogger(FILE* out = stderr) : out_(out) {}

  void SetLevel(LogLevel level) { level_.store(level); }
  bool Enabled(LogLevel level) const { return level >= level_.load(); }
  void Log(LogLevel level, std::string_view message, Fields fields = {});

  void Debug(std::string_view m, Fields f = {}) { Log(LogLevel::kDebug, m, f); }
  void Info(std::string_view m, Fields f = {}) { Log(LogLevel::kInfo, m, f); }
  void Warn(std::string_view m, Fields f = {}) { Log(LogLevel::kWarn, m, f); }
  void Error(std::string_view m, Fields f = {}) { Log(LogLevel::kError, m, f); }

 private:
  FILE* out_;
  std::atomic<LogLevel> level_{LogLevel::kInfo};
  std::mutex mu_;
};

// Appends `s` to `out` as a JSON string literal (quotes included).
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_LOG_JSON_LOGGER_H_
