// `kaigo-bridge check-config` on broken configurations: each error names file:line:column and the
// field path, and a good configuration passes.
#include <gtest/gtest.h>

#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

const std::string kOffice = Office("137100001");

std::string Header() {
  return "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\nplugins:\n"
         "  - name: otp_relay\n    path: " +
         PluginDir() + "/otp_relay.so\n";
}

std::string OfficeYaml(const std::string& number, const std::string& extra = "") {
  return "  - number: \"" + number +
         "\"\n    concerns:\n"
         "      - service: kaigo.v1.OtpService\n        plugin: otp_relay\n" +
         extra;
}

CommandResult Check(const TempDir& dir, const std::string& yaml) {
  std::string path = dir.Write("engine.yaml", yaml);
  return RunCommand(EngineBinary() + " check-config " + path);
}

struct Case {
  const char* name;
  std::string yaml;
  std::string expected;  // a substring of the output, with file:line:column
};

TEST(ConfigErrorsTest, EachErrorNamesPositionAndPath) {
  TempDir dir;
  const std::string f = dir.path() + "/engine.yaml";
  std::vector<Case> cases = {
      {"unknown key", Header() + "offices:\n" + OfficeYaml(kOffice) + "    colour: blue\n",
       f + ":12:5: offices[0].colour: unknown key (known: number, name, service_types, concerns, "
           "secrets, sealing_key)"},
      {"wrong type", Header() + "offices:\n" + OfficeYaml(kOffice) + "log:\n  access_log: maybe\n",
       f + ":13:15: log.access_log: expected true or false, got 'maybe'"},
      {"check digit", Header() + "offices:\n" + OfficeYaml("1371000018"),
       f + ":8:13: offices[0].number: \"1371000018\": check digit is 8, expected 7"},
      {"missing plugin file",
       "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\nplugins:\n"
       "  - name: otp_relay\n    path: /nonexistent/otp_relay.so\noffices:\n" +
           OfficeYaml(kOffice),
       f + ":6:11: plugins[0].path: file not found or not readable: /nonexistent/otp_relay.so"},
      {"duplicate office", Header() + "offices:\n" + OfficeYaml(kOffice) + OfficeYaml(kOffice),
       f + ":12:13: offices[1].number: duplicate office " + kOffice + " (first at " + f + ":8:13)"},
      {"plugin setting of the wrong type",
       Header() + "offices:\n" + OfficeYaml(kOffice) +
           "        settings:\n"
           "          default_timeout_seconds: soon\n",
       f + ":13:36: offices[0].concerns[0].settings.default_timeout_seconds: expected an integer "
           "(32-bit), got 'soon'"},
      {"unknown plugin setting",
       Header() + "offices:\n" + OfficeYaml(kOffice) + "        settings:\n          colour: red\n",
       f + ":13:11: offices[0].concerns[0].settings.colour: unknown key (known: "
           "default_timeout_seconds, max_pending)"},
      {"secret written inline",
       Header() + "offices:\n" + OfficeYaml(kOffice) + "    secrets:\n      - name: eclaim\n",
       f + ":13:9: offices[0].secrets[0].ref: exactly one of file or env"},
      {"role unknown",
       Header() + "offices:\n" + OfficeYaml(kOffice) +
           "callers:\n  - identity: a\n    offices: [\"*\"]\n    roles: [boss]\n",
       ":15:13: callers[0].roles[0]: expected one of care_manager, care_staff, medical, "
       "office_admin, engine_admin, got 'boss'"},
      {"service the plugin lacks",
       Header() + "offices:\n  - number: \"" + kOffice +
           "\"\n    concerns:\n      - {service: kaigo.v1.QualificationService, plugin: "
           "otp_relay}\n",
       ":10:19: offices[0].concerns[0].service: plugin otp_relay does not implement "
       "kaigo.v1.QualificationService (it implements kaigo.v1.OtpService)"},
      {"YAML syntax", Header() + "offices: [\n", f + ":8:1: YAML syntax"},
      {"TLS required off loopback", "server:\n  listen: 0.0.0.0:50051\n  insecure_loopback: true\n",
       f + ":3:22: server.insecure_loopback: serving without TLS is allowed only on a loopback "
           "address"},
      {"loopback is parsed, not a prefix",
       "server:\n  listen: 127.evil.example:50051\n  insecure_loopback: true\n",
       "server.insecure_loopback: serving without TLS is allowed only on a loopback address, not "
       "127.evil.example"},
      {"client certificates required off loopback",
       "server:\n  listen: 0.0.0.0:50051\n  tls: {cert_file: a.crt, key_file: a.key}\n",
       "server.tls.require_client_certificate: an API listener off loopback (0.0.0.0) requires "
       "client certificates (true)"},
      {"callers required off loopback",
       "server:\n  listen: 0.0.0.0:50051\n  tls: {cert_file: a.crt, key_file: a.key}\n",
       "callers: an API listener off loopback (0.0.0.0) needs callers: which certificates may act "
       "for which offices, in which roles"},
      {"an access override naming nothing",
       Header() + "offices:\n" + OfficeYaml(kOffice) +
           "access:\n  - {method: /kaigo.v1.Nowhere/Nothing, policy: {roles: [care_manager]}}\n",
       "access[0].method: \"/kaigo.v1.Nowhere/Nothing\" names no method this engine serves"},
      {"PostgreSQL without the engine's keys",
       Header() + "offices:\n" + OfficeYaml(kOffice) +
           "store:\n  postgres: {conninfo: {env: KAIGO_PG}}\n",
       "keys.audit: required with a PostgreSQL store (every replica uses the same key)"},
      {"PostgreSQL without a sealing key",
       Header() + "offices:\n" + OfficeYaml(kOffice) +
           "store:\n  postgres: {conninfo: {env: KAIGO_PG}}\n",
       "keys.sealing: required with a PostgreSQL store (every replica seals and opens values "
       "with it)"},
      {"one sealing key id for two keys",
       Header() + "keys:\n  sealing: {id: s1, secret: {env: A}}\n  sealing_retired:\n"
                  "    - {id: s1, secret: {env: B}}\n",
       "keys.sealing_retired[0].id: a sealing key id appears twice"},
      {"a key written inline", Header() + "keys:\n  audit: {id: a1}\n",
       f + ":8:10: keys.audit.secret: exactly one of file or env (keys are never written inline)"},
      {"a key id that cannot be stored",
       Header() + "keys:\n  recipient_ref: {id: \"a b\", secret: {env: K}}\n",
       "keys.recipient_ref.id: required: letters, digits, '-', '_' and '.', 1 to 32"},
      {"an office secret by an engine's name",
       Header() + "offices:\n" +
           OfficeYaml(kOffice,
                      "    secrets:\n      - {name: kaigo.recipient_ref_key, ref: {env: "
                      "K}}\n"),
       "offices[0].secrets[0].name: names starting with kaigo. are the engine's"},
  };
  for (const auto& c : cases) {
    CommandResult r = Check(dir, c.yaml);
    EXPECT_EQ(r.exit_code, 1) << c.name << "\n" << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos)
        << c.name << ": expected\n  " << c.expected << "\nin\n"
        << r.output;
  }
}

TEST(ConfigErrorsTest, AllErrorsAreReportedInOneRun) {
  TempDir dir;
  CommandResult r = Check(dir, Header() + "offices:\n" + OfficeYaml("1371000018") +
                                   "    colour: blue\n" + OfficeYaml("12345"));
  EXPECT_NE(r.output.find("3 error(s)"), std::string::npos) << r.output;
}

TEST(ConfigErrorsTest, AGoodConfigurationPasses) {
  TempDir dir;
  dir.Write("offices/a.yaml", "number: \"" + Office("137100002") +
                                  "\"\nname: 通所介護 B\nconcerns:\n"
                                  "  - {service: kaigo.v1.OtpService, plugin: otp_relay}\n");
  CommandResult r =
      Check(dir, Header() + "office_dirs: [offices]\noffices:\n" + OfficeYaml(kOffice));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("configuration is valid"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace kaigo::testing
