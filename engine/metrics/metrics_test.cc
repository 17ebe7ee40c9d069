#include "engine/metrics/metrics.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace kaigo::engine {
namespace {

void Populate(Metrics& m) {
  m.ForMethod("probe", "/kaigo.test.v1.ProbeService/Echo")->Record(0, 800);
  m.ForMethod("probe", "/kaigo.test.v1.ProbeService/Echo")->Record(14, 12000);
  m.ForMethod("otp", "/kaigo.v1.OtpService/RequestOtp")->Record(0, 300);
  m.PluginCounterAdd("card", "card_apdus_total", 12);
  m.PluginCounterAdd("relay", "otp_requested", 1);
  m.PluginCounterAdd("other", "otp_requested", 2);
  m.PluginRestarted("faulty");
  m.CallRefused(7);
}

// The family each sample line belongs to must be the one whose HELP and TYPE came last, and no
// family may start twice: what `promtool check metrics` calls interleaved.
TEST(MetricsTest, EveryFamilyHasHelpAndTypeAndItsSeriesTogether) {
  Metrics m;
  Populate(m);
  std::string text = m.Render();
  std::set<std::string> seen;
  std::string current, helped;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> words = absl::StrSplit(line, ' ');
    if (absl::StartsWith(line, "# HELP ")) {
      helped = words[2];
      continue;
    }
    if (absl::StartsWith(line, "# TYPE ")) {
      EXPECT_EQ(words[2], helped) << "TYPE without HELP: " << line;
      EXPECT_TRUE(seen.insert(words[2]).second) << "family started twice: " << words[2];
      current = words[2];
      continue;
    }
    std::string name(line.substr(0, line.find_first_of("{ ")));
    bool belongs = name == current || name == current + "_bucket" || name == current + "_sum" ||
                   name == current + "_count";
    EXPECT_TRUE(belongs) << name << " under family " << current;
  }
  EXPECT_TRUE(seen.count("kaigo_build_info"));
  EXPECT_TRUE(seen.count("process_resident_memory_bytes"));
  EXPECT_TRUE(seen.count("process_cpu_seconds_total"));
}

TEST(MetricsTest, PluginCountersAreNamedOnceWithTotal) {
  Metrics m;
  Populate(m);
  std::string text = m.Render();
  EXPECT_TRUE(absl::StrContains(text, "kaigo_plugin_card_apdus_total{plugin=\"card\"} 12\n"));
  EXPECT_FALSE(absl::StrContains(text, "_total_total"));
  EXPECT_TRUE(absl::StrContains(text,
                                "# TYPE kaigo_plugin_otp_requested_total counter\n"
                                "kaigo_plugin_otp_requested_total{plugin=\"other\"} 2\n"
                                "kaigo_plugin_otp_requested_total{plugin=\"relay\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(text, "# HELP kaigo_calls_in_flight "));
}

TEST(MetricsTest, PromtoolAcceptsTheExposition) {
  const std::string promtool = KAIGO_PROMTOOL;
  ASSERT_FALSE(promtool.empty()) << "promtool not found: run scripts/install-deps.sh";
  Metrics m;
  Populate(m);
  char path[] = "/tmp/kaigo-metrics-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string text = m.Render();
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  std::string command = promtool + " check metrics < " + path + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string said;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) said.append(buf, n);
  int status = pclose(pipe);
  unlink(path);
  EXPECT_EQ(status, 0) << said << "\n" << text;
}

// One request over a real socket; the whole answer.
std::string Ask(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "no connection";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char buf[4096];
  while (ssize_t n = recv(fd, buf, sizeof buf, 0)) {
    if (n < 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return answer;
}

TEST(MetricsHttpServerTest, ServesGetAndHeadWithQueriesAndRefusesTheRest) {
  Metrics m;
  Populate(m);
  MetricsHttpServer server(&m);
  auto port = server.Start("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.status();
  std::string get = Ask(*port, "GET /metrics?name[]=x HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(get, "HTTP/1.1 200 OK\r\n")) << get;
  EXPECT_TRUE(absl::StrContains(get, "kaigo_build_info{"));
  std::string head = Ask(*port, "HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(head, "HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_TRUE(absl::EndsWith(head, "\r\n\r\n")) << "HEAD has no body: " << head;
  std::string post = Ask(*port, "POST /metrics HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(post, "HTTP/1.1 405 ")) << post;
  EXPECT_TRUE(absl::StrContains(post, "Allow: GET, HEAD\r\n"));
  EXPECT_TRUE(absl::StartsWith(Ask(*port, "GET / HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 "));
  EXPECT_TRUE(absl::StartsWith(Ask(*port, "garbage\r\n\r\n"), "HTTP/1.1 404 "));
}

}  // namespace
}  // namespace kaigo::engine
