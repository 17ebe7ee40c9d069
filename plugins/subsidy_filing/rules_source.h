// The rules file as the plugin uses it: loaded once at start (a file that does not load stops
// the instance from being created), then re-read when it changes — its modification time, size
// or inode, looked at no more often than every `interval` — so an integrator's edit takes effect
// without a reload or a rebuild. A changed file that does not load leaves the last good rules in
// force; `warn` is told why, once per change. Thread-safe.
#ifndef KAIGO_PLUGINS_SUBSIDY_FILING_RULES_SOURCE_H_
#define KAIGO_PLUGINS_SUBSIDY_FILING_RULES_SOURCE_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kaigo/v1/subsidy.pb.h"

namespace kaigo::plugins::subsidy {

class RulesSource {
 public:
  static absl::StatusOr<std::unique_ptr<RulesSource>> Open(
      std::string path, absl::Duration interval, std::function<void(const std::string&)> warn);

  // The rules in force; checks the file first when `interval` has passed.
  std::shared_ptr<const kaigo::v1::SubsidyRules> Current();

 private:
  using Identity = std::tuple<int64_t, int64_t, int64_t, uint64_t>;  // mtime s, ns, size, inode
  RulesSource(std::string path, absl::Duration interval,
              std::function<void(const std::string&)> warn)
      : path_(std::move(path)), interval_(interval), warn_(std::move(warn)) {}
  Identity Stat() const;

  const std::string path_;
  const absl::Duration interval_;
  const std::function<void(const std::string&)> warn_;
  std::mutex mu_;
  std::shared_ptr<const kaigo::v1::SubsidyRules> rules_;
  Identity seen_;
  absl::Time next_check_;
};

}  // namespace kaigo::plugins::subsidy

#endif  // KAIGO_PLUGINS_SUBSIDY_FILING_RULES_SOURCE_H_
