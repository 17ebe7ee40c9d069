#include "careplan/care_plan_book.h"

#include "absl/strings/str_cat.h"
#include "careplan/layout.h"

namespace kaigo::careplan {
namespace {

using K = v1::FileKind;
using google::protobuf::Message;

std::string Item(const Message& row, int number) {
  const auto* field = row.GetDescriptor()->FindFieldByNumber(number);
  return row.GetReflection()->GetString(row, field);
}

// The kind a row is kept under and its key. UPHOSOKU goes with its plan or its use table.
std::pair<K, std::string> Place(K kind, const Message& row) {
  auto key = [&](int number) {
    return absl::StrCat(Item(row, 2), "/", Item(row, 3), "/", Item(row, number));
  };
  switch (kind) {
    case K::FILE_KIND_UP1KYO:
      return {kind, key(14)};
    case K::FILE_KIND_UP2KYO:
    case K::FILE_KIND_UP3KYO:
    case K::FILE_KIND_UPPLAN:
    case K::FILE_KIND_UPSIKYU:
      return {kind, key(5)};
    case K::FILE_KIND_UPHOSOKU:
      return {kind, Item(row, 63) == "000000" ? key(4) : key(63)};
    case K::FILE_KIND_UPJSK:
      return {kind, absl::StrCat(key(5), "/", Item(row, 20), "/", Item(row, 15).substr(0, 2))};
    default:  // 予防 files and the deletes: No.4 is the key date
      return {kind, key(4)};
  }
}

}  // namespace

void CarePlanBook::Apply(const v1::CarePlanFile& file) {
  K kind = file.name().kind();
  const Layout* layout = LayoutFor(kind);
  if (layout == nullptr) return;
  const auto* fr = file.GetReflection();
  int count = fr->FieldSize(file, layout->list);
  auto erase = [&](std::initializer_list<K> kinds, const std::string& key) {
    for (K k : kinds) rows_[k].erase(key);
  };
  // Keys an UP file replaces are cleared once, then filled with all its rows.
  std::map<std::string, bool> cleared;
  for (int i = 0; i < count; ++i) {
    const Message& row = fr->GetRepeatedMessage(file, layout->list, i);
    auto [place, key] = Place(kind, row);
    switch (kind) {
      case K::FILE_KIND_DLT1KYO:
        erase(
            {K::FILE_KIND_UP1KYO, K::FILE_KIND_UP2KYO, K::FILE_KIND_UP3KYO, K::FILE_KIND_UPHOSOKU},
            key);
        continue;
      case K::FILE_KIND_DLTPLAN:
        erase({K::FILE_KIND_UPPLAN, K::FILE_KIND_UPSIKYU, K::FILE_KIND_UPHOSOKU}, key);
        continue;
      case K::FILE_KIND_DLTJSK:
        erase({K::FILE_KIND_UPJSK}, absl::StrCat(key, "/", Item(row, 5), "/", Item(row, 6)));
        continue;
      case K::FILE_KIND_DLTKIHON:
        erase({K::FILE_KIND_UPKIHON, K::FILE_KIND_UPKIHON_SUB1, K::FILE_KIND_UPKIHON_SUB2}, key);
        continue;
      case K::FILE_KIND_DLTYOBO:
        erase({K::FILE_KIND_UPYOBO, K::FILE_KIND_UPYOBO_SUB}, key);
        continue;
      default:
        break;
    }
    Rowset& rows = rows_[place][key];
    if (!cleared[key]) {
      rows.clear();
      cleared[key] = true;
    }
    rows.emplace_back(row.New());
    rows.back()->CopyFrom(row);
  }
}

std::vector<const Message*> CarePlanBook::Rows(K kind, const std::string& key) const {
  std::vector<const Message*> out;
  auto by_kind = rows_.find(kind);
  if (by_kind == rows_.end()) return out;
  auto it = by_kind->second.find(key);
  if (it == by_kind->second.end()) return out;
  for (const auto& row : it->second) out.push_back(row.get());
  return out;
}

std::vector<std::string> CarePlanBook::Keys(K kind) const {
  std::vector<std::string> out;
  auto by_kind = rows_.find(kind);
  if (by_kind == rows_.end()) return out;
  for (const auto& [key, rows] : by_kind->second) {
    if (!rows.empty()) out.push_back(key);
  }
  return out;
}

}  // namespace kaigo::careplan
