#include "careplan/send_unit.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "careplan/file_kinds.h"
#include "careplan/file_name.h"

namespace kaigo::careplan {
namespace {

using K = v1::FileKind;

// UPHOSOKU belongs with the plan (対象年月 000000) or with the use tables; it is told apart here
// by a pseudo-kind.
constexpr int kSupplementOfPlan = 1000;

struct Group {
  const char* title;
  std::set<int> kinds;
};

const std::vector<Group>& Groups() {
  static const std::vector<Group>* groups = new std::vector<Group>{
      {"第1表・第2表・第3表・利用者補足",
       {K::FILE_KIND_UP1KYO, K::FILE_KIND_UP2KYO, K::FILE_KIND_UP3KYO, kSupplementOfPlan}},
      {"第6表・第7表・利用者補足",
       {K::FILE_KIND_UPPLAN, K::FILE_KIND_UPSIKYU, K::FILE_KIND_UPHOSOKU}},
      {"第1表_削除", {K::FILE_KIND_DLT1KYO}},
      {"第6表_削除", {K::FILE_KIND_DLTPLAN}},
      {"実績", {K::FILE_KIND_UPJSK}},
      {"実績_削除", {K::FILE_KIND_DLTJSK}},
      {"予防計画書・利用者基本情報",
       {K::FILE_KIND_UPYOBO, K::FILE_KIND_UPYOBO_SUB, K::FILE_KIND_UPKIHON,
        K::FILE_KIND_UPKIHON_SUB1, K::FILE_KIND_UPKIHON_SUB2, K::FILE_KIND_UPKIHON_IMAGE}},
      {"利用者基本情報_削除", {K::FILE_KIND_DLTKIHON}},
      {"予防計画書_削除", {K::FILE_KIND_DLTYOBO}},
  };
  return *groups;
}

// Dependants and the parent they need in the same unit.
constexpr std::pair<K, K> kParents[] = {
    {K::FILE_KIND_UP2KYO, K::FILE_KIND_UP1KYO},
    {K::FILE_KIND_UP3KYO, K::FILE_KIND_UP1KYO},
    {K::FILE_KIND_UPSIKYU, K::FILE_KIND_UPPLAN},
    {K::FILE_KIND_UPKIHON_SUB1, K::FILE_KIND_UPKIHON},
    {K::FILE_KIND_UPKIHON_SUB2, K::FILE_KIND_UPKIHON},
    {K::FILE_KIND_UPKIHON_IMAGE, K::FILE_KIND_UPKIHON},
    {K::FILE_KIND_UPYOBO_SUB, K::FILE_KIND_UPYOBO},
};

int UnitKind(const v1::FileName& name) {
  if (name.kind() == K::FILE_KIND_UPHOSOKU && name.service_month() == "000000") {
    return kSupplementOfPlan;
  }
  return name.kind();
}

}  // namespace

std::vector<SendUnit> GroupSendUnits(const std::vector<v1::FileName>& names) {
  std::map<std::tuple<std::string, std::string, std::string>, SendUnit> units;
  for (size_t i = 0; i < names.size(); ++i) {
    const v1::FileName& n = names[i];
    SendUnit& unit = units[{n.sequence(), n.from_office(), n.to_office()}];
    unit.sequence = n.sequence();
    unit.from_office = n.from_office();
    unit.to_office = n.to_office();
    unit.files.push_back(i);
  }
  std::vector<SendUnit> out;
  for (auto& [key, unit] : units) {
    std::stable_sort(unit.files.begin(), unit.files.end(),
                     [&](size_t a, size_t b) { return names[a].kind() < names[b].kind(); });
    out.push_back(std::move(unit));
  }
  return out;
}

std::vector<v1::Finding> CheckSendUnit(const std::vector<v1::FileName>& unit, Mode mode) {
  std::vector<v1::Finding> findings;
  auto add = [&](bool error, const v1::FileName& about, std::string message) {
    v1::Finding f;
    f.set_severity(error ? v1::Finding::SEVERITY_ERROR : v1::Finding::SEVERITY_WARNING);
    f.set_file(FormatFileName(about));
    f.set_rule("send_unit");
    f.set_message(std::move(message));
    findings.push_back(std::move(f));
  };
  if (unit.empty()) return findings;
  std::map<int, int> count;
  for (const v1::FileName& n : unit) count[UnitKind(n)]++;
  const Group* group = nullptr;
  for (const Group& g : Groups()) {
    bool fits = std::all_of(count.begin(), count.end(),
                            [&](const auto& kc) { return g.kinds.count(kc.first) > 0; });
    if (fits) {
      group = &g;
      break;
    }
  }
  if (group == nullptr) {
    std::vector<std::string> prefixes;
    for (const auto& [kind, n] : count) {
      prefixes.emplace_back(kind == kSupplementOfPlan ? "UPHOSOKU(000000)"
                                                      : FindKind(static_cast<K>(kind))->prefix);
    }
    add(true, unit.front(),
        absl::StrCat("these files cannot share one ファイル連番: ", absl::StrJoin(prefixes, ", "),
                     " (a send unit is e.g. 第1表・第2表・第3表・利用者補足, or "
                     "第6表・第7表・利用者補足, or "
                     "one 削除 alone)"));
    return findings;
  }
  for (const v1::FileName& n : unit) {
    if (n.kind() != K::FILE_KIND_UPKIHON_IMAGE && count[UnitKind(n)] > 1) {
      add(true, n, absl::StrCat("one send unit has one ", FindKind(n.kind())->prefix, " file"));
      count[UnitKind(n)] = 1;  // reported once
    }
    if (n.from_office() != unit.front().from_office() ||
        n.to_office() != unit.front().to_office()) {
      add(true, n, "the files of one send unit go from one office to one office");
    }
  }
  for (const auto& [child, parent] : kParents) {
    if (count.count(child) > 0 && count.count(parent) == 0) {
      for (const v1::FileName& n : unit) {
        if (n.kind() == child) {
          add(mode == Mode::kStrict, n,
              absl::StrCat(FindKind(child)->prefix, " is sent with its ", FindKind(parent)->prefix,
                           " in the same send unit"));
          break;
        }
      }
    }
  }
  return findings;
}

}  // namespace kaigo::careplan
