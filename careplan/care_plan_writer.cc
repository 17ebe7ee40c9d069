#include "careplan/care_plan_writer.h"

#include "absl/strings/str_cat.h"
#include "careplan/layout.h"
#include "careplan/ms932.h"

namespace kaigo::careplan {

absl::StatusOr<std::string> WriteCarePlanFile(const v1::CarePlanFile& file) {
  const KindInfo* kind = FindKind(file.name().kind());
  if (kind == nullptr) return absl::InvalidArgumentError("name.kind: no file kind is set");
  if (kind->kind == v1::FILE_KIND_UPKIHON_IMAGE) return file.image();
  const Layout& layout = *LayoutFor(kind->kind);
  const google::protobuf::Reflection* fr = file.GetReflection();
  const absl::string_view eol = file.line_ending() == v1::LINE_ENDING_LF ? "\n" : "\r\n";
  int rows = fr->FieldSize(file, layout.list);
  std::string out;
  std::string ms932;
  for (int i = 0; i < rows; ++i) {
    const google::protobuf::Message& row = fr->GetRepeatedMessage(file, layout.list, i);
    const google::protobuf::Reflection* r = row.GetReflection();
    for (const Column& c : layout.columns) {
      if (c.number > 1) out.push_back(',');
      if (c.number == 1) {
        out.append(kWrittenVersion.data(), kWrittenVersion.size());
        continue;
      }
      const std::string& value = r->GetString(row, c.field);
      auto where = [&] {
        return absl::StrCat(kind->prefix, " row ", i + 1, " item ", c.number, " ", c.item->name(),
                            ": ");
      };
      if (c.item->form() != CarePlanItem::FORM_TEXT) {
        if (!IsAscii(value) || value.find_first_of(",\"\r\n") != std::string::npos) {
          return absl::InvalidArgumentError(
              absl::StrCat(where(),
                           "only free text may hold non-ASCII characters, commas, quotes or line "
                           "breaks"));
        }
        out.append(value);
        continue;
      }
      absl::string_view bytes = value;
      if (!IsAscii(value)) {
        auto converted = Utf8ToMs932(value);
        if (!converted.ok()) {
          return absl::InvalidArgumentError(absl::StrCat(where(), converted.status().message()));
        }
        ms932 = *std::move(converted);
        bytes = ms932;
      }
      out.push_back('"');
      for (char ch : bytes) {
        if (ch == '"') out.push_back('"');
        out.push_back(ch);
      }
      out.push_back('"');
    }
    if (i + 1 < rows || !file.last_line_unterminated()) out.append(eol.data(), eol.size());
  }
  return out;
}

}  // namespace kaigo::careplan
