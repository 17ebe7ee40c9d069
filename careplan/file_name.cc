#include "careplan/file_name.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "careplan/file_kinds.h"

namespace kaigo::careplan {
namespace {

bool AllDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool OfficeForm(absl::string_view s) {
  return !s.empty() && s.size() <= 10 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
  });
}

bool ServiceTypeForm(absl::string_view s) {
  return s.size() == 2 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
         });
}

bool SequenceForm(absl::string_view s) {
  if (s.size() != 14 || !AllDigits(s)) return false;
  auto two = [&](size_t at) { return (s[at] - '0') * 10 + (s[at + 1] - '0'); };
  int month = two(4), day = two(6), hour = two(8), minute = two(10), second = two(12);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour < 24 && minute < 60 &&
         second < 60;
}

bool MonthForm(absl::string_view s, bool zero_allowed) {
  if (s.size() != 6 || !AllDigits(s)) return false;
  if (s == "000000") return zero_allowed;
  int month = (s[4] - '0') * 10 + (s[5] - '0');
  return month >= 1 && month <= 12;
}

// The kind whose prefix is longest among those `stem` starts with followed by '_'.
const KindInfo* MatchPrefix(absl::string_view stem) {
  size_t count = 0;
  const KindInfo* kinds = AllKinds(&count);
  const KindInfo* best = nullptr;
  for (size_t i = 0; i < count; ++i) {
    absl::string_view p = kinds[i].prefix;
    if (stem.size() > p.size() && stem.substr(0, p.size()) == p && stem[p.size()] == '_' &&
        (best == nullptr || p.size() > best->prefix.size())) {
      best = &kinds[i];
    }
  }
  return best;
}

}  // namespace

absl::StatusOr<v1::FileName> ParseFileName(absl::string_view name) {
  auto bad = [&](absl::string_view rule) {
    return absl::InvalidArgumentError(absl::StrCat("file name ", name, ": ", rule));
  };
  size_t slash = name.find_last_of("/\\");
  absl::string_view base = slash == absl::string_view::npos ? name : name.substr(slash + 1);
  size_t dot = base.rfind('.');
  if (dot == absl::string_view::npos) return bad("no extension (.CSV)");
  absl::string_view stem = base.substr(0, dot), extension = base.substr(dot + 1);
  const KindInfo* kind = MatchPrefix(stem);
  if (kind == nullptr) {
    return bad("the prefix is not a file kind of the standard (UPHOSOKU, UP1KYO, … DLTYOBO)");
  }
  bool image = kind->kind == v1::FILE_KIND_UPKIHON_IMAGE;
  std::string lower = absl::AsciiStrToLower(extension);
  if (image ? (lower != "jpg" && lower != "jpeg") : lower != "csv") {
    return bad(image ? "a family image ends in .jpg" : "a data file ends in .CSV");
  }
  v1::FileName out;
  out.set_kind(kind->kind);
  out.set_extension(std::string(extension));
  std::vector<absl::string_view> parts = absl::StrSplit(stem.substr(kind->prefix.size() + 1), '_');
  size_t at = 0;
  if (kind->month_in_name) {
    if (parts.empty() || !MonthForm(parts[0], kind->kind == v1::FILE_KIND_UPHOSOKU)) {
      return bad(absl::StrCat("対象年月 after ", kind->prefix, " must be 6 digits (YYYYMM)",
                              kind->kind == v1::FILE_KIND_UPHOSOKU ? " or 000000" : ""));
    }
    out.set_service_month(std::string(parts[0]));
    at = 1;
  }
  size_t rest = parts.size() - at - (image ? 1 : 0);
  if (rest != 5 && rest != 3) {
    return bad(
        "expected <from office>_<from type>_<to office>_<to type>_<YYYYMMDDHHMMSS> (or the "
        "older <from office>_<to office>_<YYYYMMDDHHMMSS>)");
  }
  out.set_older_form(rest == 3);
  absl::string_view from = parts[at], to = parts[at + (rest == 5 ? 2 : 1)];
  if (!OfficeForm(from)) return bad("送信元の事業所番号 must be 10 digits");
  // Left empty by some senders when the destination is unknown.
  if (!to.empty() && !OfficeForm(to)) return bad("送信先の事業所番号 must be 10 digits");
  if (rest == 5) {
    absl::string_view from_type = parts[at + 1], to_type = parts[at + 3];
    if (!ServiceTypeForm(from_type)) {
      return bad("送信元のサービス種類コード must be 2 characters (e.g. 43)");
    }
    if (!to_type.empty() && !ServiceTypeForm(to_type)) {
      return bad("送信先のサービス種類コード must be 2 characters (e.g. 11)");
    }
    out.set_from_service_type(std::string(from_type));
    out.set_to_service_type(std::string(to_type));
  }
  absl::string_view sequence = parts[at + rest - 1];
  if (!SequenceForm(sequence)) {
    return bad("the ファイル連番 must be a 14-digit time YYYYMMDDHHMMSS");
  }
  if (image) {
    absl::string_view branch = parts.back();
    if (branch.size() != 4 || !AllDigits(branch)) return bad("the image 枝番 must be 4 digits");
    out.set_image_branch(std::string(branch));
  }
  out.set_from_office(std::string(from));
  out.set_to_office(std::string(to));
  out.set_sequence(std::string(sequence));
  return out;
}

std::string FormatFileName(const v1::FileName& name) {
  const KindInfo* kind = FindKind(name.kind());
  std::vector<absl::string_view> parts;
  parts.push_back(kind != nullptr ? kind->prefix : "UNKNOWN");
  if (kind != nullptr && kind->month_in_name) parts.push_back(name.service_month());
  parts.push_back(name.from_office());
  if (!name.older_form()) parts.push_back(name.from_service_type());
  parts.push_back(name.to_office());
  if (!name.older_form()) parts.push_back(name.to_service_type());
  parts.push_back(name.sequence());
  bool image = name.kind() == v1::FILE_KIND_UPKIHON_IMAGE;
  if (image) parts.push_back(name.image_branch());
  std::string extension = name.extension().empty() ? (image ? "jpg" : "CSV") : name.extension();
  return absl::StrCat(absl::StrJoin(parts, "_"), ".", extension);
}

}  // namespace kaigo::careplan
