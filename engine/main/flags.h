// The subcommands' flags: `--name VALUE` pairs among their arguments.
#ifndef KAIGO_ENGINE_MAIN_FLAGS_H_
#define KAIGO_ENGINE_MAIN_FLAGS_H_

#include <string>
#include <vector>

namespace kaigo::engine {

// The value after the first `name` in `args`, or "" when it is absent or last.
inline std::string Flag(const std::vector<std::string>& args, const std::string& name) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == name) return args[i + 1];
  }
  return "";
}

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_MAIN_FLAGS_H_
