// kaigo-careplan: the care-plan library on the command line, so vendors can check their exports.
//
//   kaigo-careplan validate [--strict] FILE...      findings, one per line; exit 1 on any error
//   kaigo-careplan convert [--out DIR] [--resolve-repeats] [--tolerant] FILE...
//       a .CSV (or family .jpg) becomes the typed file as JSON; a .json (a CarePlanFile in JSON)
//       becomes the file in the standard's form, named by its `name`
//
// Exit status: 0 fine, 1 a finding of severity error or a file that cannot be converted, 2 usage.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "careplan/care_plan_reader.h"
#include "careplan/care_plan_writer.h"
#include "careplan/file_name.h"
#include "careplan/send_unit.h"
#include "google/protobuf/util/json_util.h"

namespace {

using kaigo::careplan::Mode;

int Usage() {
  std::cerr << "usage:\n"
               "  kaigo-careplan validate [--strict] FILE...\n"
               "  kaigo-careplan convert [--out DIR] [--resolve-repeats] [--tolerant] FILE...\n";
  return 2;
}

bool ReadAll(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int Validate(const std::vector<std::string>& files, Mode mode) {
  kaigo::careplan::ReadOptions options;
  options.mode = mode;
  options.typed = false;
  bool errors = false;
  std::vector<kaigo::careplan::v1::FileName> names;
  std::vector<std::string> contents(files.size());
  std::vector<kaigo::careplan::FileInput> inputs;
  for (size_t i = 0; i < files.size(); ++i) {
    if (!ReadAll(files[i], &contents[i])) {
      std::cerr << files[i] << ": cannot read\n";
      errors = true;
      continue;
    }
    inputs.push_back({files[i], contents[i]});
  }
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<kaigo::careplan::ReadResult> results =
      kaigo::careplan::ReadCarePlanFiles(inputs, options, threads);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string path(inputs[i].name.data(), inputs[i].name.size());
    const kaigo::careplan::ReadResult& result = results[i];
    for (const auto& f : result.findings) std::cout << kaigo::careplan::FormatFinding(f) << "\n";
    errors |= result.has_errors();
    if (auto name = kaigo::careplan::ParseFileName(path); name.ok()) names.push_back(*name);
    if (!result.has_errors()) {
      std::cerr << BaseName(path) << ": " << result.records << " records, "
                << result.findings.size() << " findings\n";
    }
  }
  for (const auto& unit : kaigo::careplan::GroupSendUnits(names)) {
    std::vector<kaigo::careplan::v1::FileName> members;
    for (size_t i : unit.files) members.push_back(names[i]);
    for (const auto& f : kaigo::careplan::CheckSendUnit(members, mode)) {
      std::cout << kaigo::careplan::FormatFinding(f) << "\n";
      errors |= f.severity() == kaigo::careplan::v1::Finding::SEVERITY_ERROR;
    }
  }
  return errors ? 1 : 0;
}

bool WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  return static_cast<bool>(out);
}

int Convert(const std::vector<std::string>& files, const std::string& out_dir, Mode mode,
            bool resolve_repeats) {
  bool failed = false;
  for (const std::string& path : files) {
    std::string bytes;
    if (!ReadAll(path, &bytes)) {
      std::cerr << path << ": cannot read\n";
      failed = true;
      continue;
    }
    if (absl::EndsWithIgnoreCase(path, ".json")) {
      kaigo::careplan::v1::CarePlanFile file;
      auto parsed = google::protobuf::util::JsonStringToMessage(bytes, &file);
      if (!parsed.ok()) {
        std::cerr << path << ": not a CarePlanFile in JSON: " << parsed.message() << "\n";
        failed = true;
        continue;
      }
      auto csv = kaigo::careplan::WriteCarePlanFile(file);
      if (!csv.ok()) {
        std::cerr << path << ": " << csv.status().message() << "\n";
        failed = true;
        continue;
      }
      std::string target =
          (out_dir.empty() ? "." : out_dir) + "/" + kaigo::careplan::FormatFileName(file.name());
      if (!WriteFile(target, *csv)) {
        std::cerr << target << ": cannot write\n";
        failed = true;
        continue;
      }
      std::cerr << path << " -> " << target << "\n";
      continue;
    }
    kaigo::careplan::ReadOptions options;
    options.mode = mode;
    options.resolve_repeats = resolve_repeats;
    auto result = kaigo::careplan::ReadCarePlanFile(path, bytes, options);
    for (const auto& f : result.findings) std::cerr << kaigo::careplan::FormatFinding(f) << "\n";
    if (result.has_errors()) {
      failed = true;
      continue;
    }
    std::string json;
    google::protobuf::util::JsonPrintOptions print;
    print.add_whitespace = true;
    print.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(result.file, &json, print);
    if (out_dir.empty()) {
      std::cout << json;
    } else {
      std::string target = out_dir + "/" + BaseName(path) + ".json";
      if (!WriteFile(target, json)) {
        std::cerr << target << ": cannot write\n";
        failed = true;
      }
    }
  }
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return Usage();
  std::string command = args[0];
  Mode mode = command == "validate" ? Mode::kTolerant : Mode::kStrict;
  std::string out_dir;
  bool resolve = false;
  std::vector<std::string> files;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--strict") {
      mode = Mode::kStrict;
    } else if (args[i] == "--tolerant") {
      mode = Mode::kTolerant;
    } else if (args[i] == "--resolve-repeats") {
      resolve = true;
    } else if (args[i] == "--out" && i + 1 < args.size()) {
      out_dir = args[++i];
    } else if (absl::StartsWith(args[i], "--")) {
      return Usage();
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.empty()) return Usage();
  if (command == "validate") return Validate(files, mode);
  if (command == "convert") return Convert(files, out_dir, mode, resolve);
  return Usage();
}
