#include "rules_source.h"

#include <sys/stat.h>

#include "absl/time/clock.h"
#include "subsidy_rules.h"

namespace kaigo::plugins::subsidy {

RulesSource::Identity RulesSource::Stat() const {
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0) return {-1, -1, -1, 0};
  return {st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_size, st.st_ino};
}

absl::StatusOr<std::unique_ptr<RulesSource>> RulesSource::Open(
    std::string path, absl::Duration interval, std::function<void(const std::string&)> warn) {
  std::unique_ptr<RulesSource> source(new RulesSource(std::move(path), interval, std::move(warn)));
  source->seen_ = source->Stat();
  auto rules = LoadRules(source->path_);
  if (!rules.ok()) return rules.status();
  source->rules_ = std::make_shared<const kaigo::v1::SubsidyRules>(*std::move(rules));
  source->next_check_ = absl::Now() + interval;
  return source;
}

std::shared_ptr<const kaigo::v1::SubsidyRules> RulesSource::Current() {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Time now = absl::Now();
  if (now < next_check_) return rules_;
  next_check_ = now + interval_;
  Identity identity = Stat();
  if (identity == seen_) return rules_;
  seen_ = identity;
  auto rules = LoadRules(path_);
  if (!rules.ok()) {
    warn_("the changed subsidy rules do not load; the previous rules stay in force: " +
          std::string(rules.status().message()));
    return rules_;
  }
  rules_ = std::make_shared<const kaigo::v1::SubsidyRules>(*std::move(rules));
  return rules_;
}

}  // namespace kaigo::plugins::subsidy
