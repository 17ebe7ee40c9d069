// `kaigo-bridge import-certificate` against a configuration on disk and certificates made by the
// openssl command: a good certificate and its password replace the files the office's secrets
// name (mode 0400, atomically); a wrong password, another office's certificate, an expired one
// (the clock moved past it), a password bound to env: and a read-only target are refused with the
// field or the rule named, and nothing is written.
#include <sys/stat.h>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

constexpr char kSakura[] = "1371000017";
constexpr char kHimawari[] = "1371000025";

std::string Office(const std::string& number, const std::string& password_ref,
                   const std::string& certificate_file) {
  return "  - number: \"" + number +
         "\"\n"
         "    concerns:\n"
         "      - service: kaigo.v1.QualificationService\n"
         "        plugin: qualification\n"
         "        settings:\n"
         "          platform: {base_url: \"https://127.0.0.1:1\", ca_secret: ca, "
         "certificate_secret: certificate, certificate_password_secret: certificate_password, "
         "user_id_secret: user, password_secret: password}\n"
         "    secrets:\n"
         "      - {name: certificate, ref: {file: " +
         certificate_file + "}}\n      - {name: certificate_password, ref: " + password_ref + "}\n";
}

class ImportCertificateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("secrets/sakura.p12", "old certificate");
    dir_.Write("secrets/sakura.password", "old password\n");
    config_ = dir_.Write(
        "engine.yaml",
        "server: {listen: \"127.0.0.1:0\", insecure_loopback: true}\n"
        "plugins:\n  - {name: qualification, path: /nonexistent/qualification.so}\n"
        "offices:\n" +
            Office(kSakura, "{file: secrets/sakura.password}", "secrets/sakura.p12") +
            Office(kHimawari, "{env: HIMAWARI_P12_PASSWORD}", "secrets/himawari.p12") +
            Office("1371000033", "{file: secrets/other.password}", "/proc/self/kaigo.p12"));
    password_ = dir_.Write("new.password", "new pass\n");
  }

  // A PKCS#12 for `common_name`, valid for `days` from now, under the password "new pass".
  std::string Certificate(const std::string& common_name, int days) {
    std::string base = dir_.path() + "/" + common_name + "-" + std::to_string(days);
    auto made = RunCommand(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=" +
        common_name + " -days " + std::to_string(days) + " -keyout " + base + ".key -out " + base +
        ".crt 2>&1 && openssl pkcs12 -export -inkey " + base + ".key -in " + base + ".crt -out " +
        base + ".p12 -passout 'pass:new pass' 2>&1");
    EXPECT_EQ(made.exit_code, 0) << made.output;
    return base + ".p12";
  }

  CommandResult Import(const std::string& office, const std::string& file,
                       const std::string& extra = "") {
    return RunCommand(EngineBinary() + " import-certificate --config " + config_ + " --office " +
                      office + " --password-file " + password_ + " " + extra + " " + file);
  }

  std::string Stored() { return ReadFile(dir_.path() + "/secrets/sakura.p12"); }

  TempDir dir_;
  std::string config_, password_;
};

TEST_F(ImportCertificateTest, AGoodCertificateReplacesTheSecretFiles) {
  std::string p12 = Certificate(kSakura, 60);
  auto done = Import(kSakura, p12);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_TRUE(absl::StrContains(done.output, "certificate CN=1371000017")) << done.output;
  EXPECT_TRUE(absl::StrContains(done.output, "renew it soon")) << "60 days left: " << done.output;
  EXPECT_EQ(Stored(), ReadFile(p12));
  EXPECT_EQ(ReadFile(dir_.path() + "/secrets/sakura.password"), "new pass\n");
  struct stat st {};
  ASSERT_EQ(stat((dir_.path() + "/secrets/sakura.p12").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0400u);
}

TEST_F(ImportCertificateTest, RefusalsNameTheRuleAndWriteNothing) {
  struct Case {
    std::string office, file, extra, says;
  } cases[] = {
      {kSakura, Certificate(kHimawari, 365), "", "issued to CN=1371000025, not to office"},
      {kSakura, Certificate(kSakura, 30), "--clock-offset 960h", "expired on"},
      {kSakura, dir_.Write("notes.txt", "not a certificate"), "", "not a PKCS#12 file"},
      {kHimawari, Certificate(kHimawari, 365), "",
       "offices[1].secrets[1].ref: secret 'certificate_password' is bound to env:"},
      {"1371000033", Certificate("1371000033", 365), "",
       "offices[2].secrets[0].ref.file: /proc/self/ cannot be written"},
      {"1371000099", Certificate(kSakura, 365), "", "--office: no office 1371000099"},
  };
  for (const auto& c : cases) {
    auto refused = Import(c.office, c.file, c.extra);
    EXPECT_EQ(refused.exit_code, 1) << c.says << ": " << refused.output;
    EXPECT_TRUE(absl::StrContains(refused.output, c.says)) << refused.output;
    EXPECT_EQ(Stored(), "old certificate");
  }
  std::string wrong = dir_.Write("wrong.password", "not it\n");
  auto refused =
      RunCommand(EngineBinary() + " import-certificate --config " + config_ + " --office " +
                 kSakura + " --password-file " + wrong + " " + Certificate(kSakura, 365));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(refused.output, "does not open with the password"))
      << refused.output;
  EXPECT_EQ(Stored(), "old certificate");
}

}  // namespace
}  // namespace kaigo::testing
