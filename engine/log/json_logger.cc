#include "engine/log/json_logger.h"

#include <sys/stat.h>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kaigo::engine {

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name) {
  if (name.empty() || name == "info") return LogLevel::kInfo;
  if (name == "debug") return LogLevel::kDebug;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return absl::InvalidArgumentError("must be debug, info, warn or error");
}

bool StreamIsJournal(const char* journal_stream, int fd) {
  if (journal_stream == nullptr || fd < 0) return false;
  unsigned long long device = 0, inode = 0;
  if (sscanf(journal_stream, "%llu:%llu", &device, &inode) != 2) return false;
  struct stat st {};
  return fstat(fd, &st) == 0 && st.st_dev == device && st.st_ino == inode;
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          out->append(absl::StrFormat("\\u%04x", c));
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void JsonLogger::Log(LogLevel level, std::string_view message, Fields fields) {
  if (!Enabled(level)) return;
  static const char* kNames[] = {"debug", "info", "warn", "error"};
  static const char* kPriorities[] = {"<7>", "<6>", "<4>", "<3>"};  // sd-daemon.h's SD_DEBUG …
  std::string line = journal_ ? kPriorities[static_cast<int>(level)] : "";
  line += "{\"ts\":";
  AppendJsonString(&line,
                   absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()));
  line += ",\"level\":\"";
  line += kNames[static_cast<int>(level)];
  line += "\",\"msg\":";
  AppendJsonString(&line, message);
  for (const auto& [key, value] : fields) {
    line += ',';
    AppendJsonString(&line, key);
    line += ':';
    AppendJsonString(&line, value);
  }
  line += "}\n";
  std::lock_guard<std::mutex> lock(mu_);
  fwrite(line.data(), 1, line.size(), out_);
  fflush(out_);
}

}  // namespace kaigo::engine
