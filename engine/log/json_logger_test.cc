#include "engine/log/json_logger.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace kaigo::engine {
namespace {

std::string Logged(FILE* file) {
  fflush(file);
  rewind(file);
  std::string out;
  char buf[1024];
  while (size_t n = fread(buf, 1, sizeof buf, file)) out.append(buf, n);
  return out;
}

std::string StreamName(FILE* file) {
  struct stat st {};
  fstat(fileno(file), &st);
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

TEST(JsonLoggerTest, JournalStreamIsRecognizedOnlyForItsOwnFile) {
  FILE* file = tmpfile();
  FILE* other = tmpfile();
  EXPECT_TRUE(StreamIsJournal(StreamName(file).c_str(), fileno(file)));
  EXPECT_FALSE(StreamIsJournal(StreamName(other).c_str(), fileno(file)));
  EXPECT_FALSE(StreamIsJournal(nullptr, fileno(file)));
  EXPECT_FALSE(StreamIsJournal("not a stream", fileno(file)));
  fclose(file);
  fclose(other);
}

TEST(JsonLoggerTest, LinesCarrySyslogPrioritiesOnlyOnTheJournal) {
  FILE* file = tmpfile();
  setenv("JOURNAL_STREAM", StreamName(file).c_str(), 1);
  JsonLogger journal(file);
  journal.SetLevel(LogLevel::kDebug);
  journal.Error("e");
  journal.Warn("w");
  journal.Info("i");
  journal.Debug("d");
  std::string text = Logged(file);
  EXPECT_EQ(text.find("<3>{"), 0u) << text;
  EXPECT_NE(text.find("\n<4>{"), std::string::npos) << text;
  EXPECT_NE(text.find("\n<6>{"), std::string::npos) << text;
  EXPECT_NE(text.find("\n<7>{"), std::string::npos) << text;
  unsetenv("JOURNAL_STREAM");
  FILE* plain_file = tmpfile();
  JsonLogger plain(plain_file);
  plain.Error("e");
  EXPECT_EQ(Logged(plain_file).find("{\"ts\":"), 0u);
  fclose(file);
  fclose(plain_file);
}

}  // namespace
}  // namespace kaigo::engine
