#include "kaigo/sdk/api_release.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace kaigo::sdk {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(ApiReleaseTest, ParsesOnlyMajorMinorPatch) {
  auto release = ParseApiRelease("1.12.3");
  ASSERT_TRUE(release.has_value());
  EXPECT_EQ(release->major, 1);
  EXPECT_EQ(release->minor, 12);
  EXPECT_EQ(release->patch, 3);
  for (const char* bad :
       {"", "1", "1.0", "1.0.0.0", "1.0.x", "v1.0.0", "1..0", "1.0.-1", " 1.0.0"}) {
    EXPECT_FALSE(ParseApiRelease(bad).has_value()) << bad;
  }
}

TEST(ApiReleaseTest, SonameNamesMajorMinorOfTheRelease) {
  auto release = ParseApiRelease(kApiRelease);
  ASSERT_TRUE(release.has_value());
  EXPECT_EQ(kProtoSoname, absl::StrCat("libkaigo_proto.so.", release->major, ".", release->minor));
}

TEST(ApiReleaseTest, ManifestOfAnotherMinorIsRefusedNamingBoth) {
  auto served = *ParseApiRelease(kApiRelease);
  EXPECT_TRUE(CheckManifestApiRelease("x", "", "this engine").ok());
  EXPECT_TRUE(CheckManifestApiRelease("x", kApiRelease, "this engine").ok());
  std::string other_patch = absl::StrCat(served.major, ".", served.minor, ".", served.patch + 7);
  EXPECT_TRUE(CheckManifestApiRelease("x", other_patch, "this engine").ok());

  std::string older = absl::StrCat(served.major, ".", served.minor + 1, ".0");
  absl::Status refused = CheckManifestApiRelease("stale", older, "this engine");
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.message(),
            absl::StrCat("plugin \"stale\" was built against kaigo API ", older,
                         " (libkaigo_proto.so.", served.major, ".", served.minor + 1,
                         "); this engine serves kaigo API ", kApiRelease, " (", kProtoSoname,
                         ") — rebuild the plugin with the kaigo SDK ", kSdkVersion));
  absl::Status garbled = CheckManifestApiRelease("stale", "latest", "this engine");
  EXPECT_EQ(garbled.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(garbled.message().find("\"latest\""), std::string::npos) << garbled;
}

TEST(ApiReleaseTest, ReadsNeededLibrariesOfARealImage) {
  auto needed = NeededLibraries(ReadFile("/proc/self/exe"));
  ASSERT_TRUE(needed.ok()) << needed.status();
  EXPECT_NE(std::find(needed->begin(), needed->end(), "libc.so.6"), needed->end());
}

TEST(ApiReleaseTest, RefusesTruncatedAndForeignBytesWithoutReadingPastThem) {
  std::string image = ReadFile("/proc/self/exe");
  ASSERT_GT(image.size(), 4096u);
  EXPECT_FALSE(NeededLibraries("").ok());
  EXPECT_FALSE(NeededLibraries("#!/bin/sh\necho not a library\n").ok());
  EXPECT_FALSE(NeededLibraries(std::string_view(image).substr(0, 40)).ok());
  std::string wrong_class = image;
  wrong_class[4] = 1;  // ELFCLASS32
  EXPECT_FALSE(NeededLibraries(wrong_class).ok());
  // Cut anywhere, the reader answers (an error, or the names it could read) and never crashes.
  for (size_t size = 64; size < image.size(); size = size * 3 / 2) {
    NeededLibraries(std::string_view(image).substr(0, size)).IgnoreError();
  }
}

TEST(ApiReleaseTest, ALinkedImageOfThisReleaseOrNoneIsAllowed) {
  EXPECT_TRUE(CheckLinkedApiRelease("self", "/proc/self/exe", "this engine").ok());
  EXPECT_TRUE(CheckLinkedApiRelease("sh", "/bin/sh", "this engine").ok());
  EXPECT_TRUE(CheckLinkedApiRelease("missing", "/nonexistent/x.so", "this engine").ok());
}

}  // namespace
}  // namespace kaigo::sdk
