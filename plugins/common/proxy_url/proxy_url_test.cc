#include "proxy_url.h"

#include "gtest/gtest.h"

namespace kaigo::platform {
namespace {

TEST(ProxyUrlTest, NoneOrAnHttpProxyWithAPort) {
  EXPECT_TRUE(CheckProxyUrl("platform.proxy", "").ok());
  EXPECT_TRUE(CheckProxyUrl("platform.proxy", "http://proxy.office.local:8080").ok());
  EXPECT_TRUE(CheckProxyUrl("platform.proxy", "http://127.0.0.1:3128/").ok());
}

TEST(ProxyUrlTest, RefusalsNameTheFieldAndTheRule) {
  struct Case {
    const char* url;
    const char* says;
  } cases[] = {{"https://proxy:8080", "must be http://host:port"},
               {"proxy:8080", "must be http://host:port"},
               {"http://user:secret@proxy:8080", "must not hold credentials"},
               {"http://proxy", "with a port of 1–65535"},
               {"http://proxy:0", "with a port of 1–65535"},
               {"http://proxy:http", "with a port of 1–65535"},
               {"http://:8080", "with a port of 1–65535"}};
  for (const auto& c : cases) {
    absl::Status s = CheckProxyUrl("mailbox.proxy", c.url);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.url;
    EXPECT_NE(s.message().find("mailbox.proxy: "), std::string::npos) << s;
    EXPECT_NE(s.message().find(c.says), std::string::npos) << c.url << ": " << s;
  }
}

}  // namespace
}  // namespace kaigo::platform
