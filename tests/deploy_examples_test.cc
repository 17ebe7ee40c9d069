// The example configurations integrators start from (deploy/offices/) pass `kaigo-bridge
// check-config --root` against a staged tree laid out like the installed packages: the plugins
// under /usr/lib/kaigo-bridge/plugins, secrets and TLS files under /etc/kaigo-bridge.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>

#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace fs = std::filesystem;

// Every absolute path the files name exists in `root`: plugins as links to the built ones, the
// rules file as the shipped one, the rest as stand-in files readable by the owner only.
void Stage(const std::string& root, const std::vector<std::string>& files) {
  std::regex path_re("(/(usr|etc|var)/[A-Za-z0-9_./-]+)");
  for (const auto& file : files) {
    std::string text = ReadFile(file);
    for (std::sregex_iterator it(text.begin(), text.end(), path_re), end; it != end; ++it) {
      fs::path staged = fs::path(root) / it->str(1).substr(1);
      fs::create_directories(staged.parent_path());
      if (staged.extension() == ".so") {
        fs::path built = fs::path(PluginDir()) / staged.filename();
        std::error_code ec;
        fs::copy_file(built, staged, fs::copy_options::overwrite_existing, ec);
        ASSERT_FALSE(ec) << built << ": " << ec.message();
      } else if (staged.extension() == ".db") {
        continue;
      } else if (staged.filename() == "subsidy-rules.yaml") {
        TempDir::WriteAt(staged.string(),
                         ReadFile(SourceDir() + "/deploy/subsidy/subsidy-rules.yaml"));
      } else {
        // Stand-ins a plugin accepts at start; a sealing key must look like one.
        TempDir::WriteAt(staged.string(), staged.filename() == "sealing-key"
                                              ? std::string(64, 'a')
                                              : std::string("stand-in"));
        fs::permissions(staged, fs::perms::owner_read | fs::perms::owner_write);
      }
    }
  }
}

TEST(DeployExamplesTest, EveryExamplePassesCheckConfig) {
  setenv("KAIGO_POSTGRES_CONNINFO", "host=db.internal dbname=kaigo", 1);
  const std::string examples = SourceDir() + "/deploy/offices";
  for (const char* name :
       {"home-care-desk", "visiting-care", "hosted", "edge-hosted/edge", "edge-hosted/hosted"}) {
    TempDir root;
    std::vector<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(examples + "/" + name)) {
      if (e.path().extension() == ".yaml") files.push_back(e.path().string());
    }
    Stage(root.path(), files);
    CommandResult r = RunCommand(EngineBinary() + " check-config " + examples + "/" + name +
                                 "/engine.yaml --root " + root.path());
    EXPECT_EQ(r.exit_code, 0) << name << "\n" << r.output;
    EXPECT_NE(r.output.find("configuration is valid"), std::string::npos) << r.output;
  }
}

TEST(DeployExamplesTest, AMissingSecretInTheStagedTreeIsNamed) {
  TempDir root;
  std::string example = SourceDir() + "/deploy/offices/visiting-care/engine.yaml";
  Stage(root.path(), {example});
  fs::remove(root.path() + "/etc/kaigo-bridge/secrets/mail-password");
  CommandResult r =
      RunCommand(EngineBinary() + " check-config " + example + " --root " + root.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("offices[0].secrets[7].ref.file: file not found or not readable"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace kaigo::testing
