// Fuzzes ReadCarePlanFile: arbitrary bytes read as files of several kinds (a use table with and
// without a month, a table with blanks that repeat, the older name form, the family image), in
// both modes with the typed file built. Must never crash, hang or leak.
//
// Property: when a tolerant read finds no error and its typed file writes back, a strict read of
// the written bytes finds no error of rule field_count or encoding — the writer's CSV has the
// 4.1 item count on every record and only MS932 Windows writes. Non-text items are written
// without quotes, as the standard has them, so the property holds only when no non-text value
// holds a character the CSV syntax gives a meaning to (',', '"', CR, LF); the validator lets a
// quoted FORM_CHARS item (識別子, TAISコード, 事業所コード) carry ',' and '"' in tolerant mode.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "careplan/care_plan_reader.h"
#include "careplan/care_plan_writer.h"
#include "careplan/layout.h"

namespace {

using kaigo::careplan::FormatFinding;
using kaigo::careplan::Mode;
using kaigo::careplan::ReadCarePlanFile;
using kaigo::careplan::ReadOptions;
using kaigo::careplan::ReadResult;
namespace v1 = kaigo::careplan::v1;

constexpr const char* kNames[] = {
    "UPPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV",
    "UPSIKYU_202611_1371000017_43_1371000025_11_20261124100000.CSV",
    "UPJSK_202611_1371000025_11_1371000017_43_20261124100000.CSV",
    "UP2KYO_1371000017_43_1371000025_11_20261124100000.CSV",
    "UPHOSOKU_202611_1371000017_43_1371000025_11_20261124100000.CSV",
    "UPYOBO_SUB_1371000017_46_1371000025_A2_20261124100000.CSV",
    "DLTPLAN_202611_1371000017_1371000025_20261124100000.CSV",
    "UPKIHON_IMAGE_1371000017_46_1371000025_A2_20261124100000_0001.jpg",
};

// True when a non-text item of the typed file holds ',', '"', CR or LF.
bool NonTextHoldsCsvSyntax(const v1::CarePlanFile& file) {
  const kaigo::careplan::Layout* layout = kaigo::careplan::LayoutFor(file.name().kind());
  if (layout == nullptr) return false;
  const google::protobuf::Reflection* fr = file.GetReflection();
  for (int i = 0; i < fr->FieldSize(file, layout->list); ++i) {
    const google::protobuf::Message& row = fr->GetRepeatedMessage(file, layout->list, i);
    for (const kaigo::careplan::Column& c : layout->columns) {
      if (c.item->form() == kaigo::careplan::CarePlanItem::FORM_TEXT) continue;
      const std::string& v = row.GetReflection()->GetString(row, c.field);
      if (v.find_first_of(",\"\r\n") != std::string::npos) return true;
    }
  }
  return false;
}

void CheckWriteBack(const char* name, const ReadResult& tolerant) {
  if (tolerant.has_errors() || NonTextHoldsCsvSyntax(tolerant.file)) return;
  auto written = kaigo::careplan::WriteCarePlanFile(tolerant.file);
  if (!written.ok()) return;  // e.g. a character without an MS932 form after a lossy read
  ReadOptions strict;
  strict.mode = Mode::kStrict;
  strict.typed = true;
  strict.max_findings = SIZE_MAX;
  ReadResult again = ReadCarePlanFile(name, *written, strict);
  for (const v1::Finding& f : again.findings) {
    if (f.severity() == v1::Finding::SEVERITY_ERROR &&
        (f.rule() == "field_count" || f.rule() == "encoding")) {
      std::fprintf(stderr, "written back, read strictly: %s\n", FormatFinding(f).c_str());
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (const char* name : kNames) {
    for (Mode mode : {Mode::kStrict, Mode::kTolerant}) {
      ReadOptions options;
      options.mode = mode;
      options.typed = true;
      options.resolve_repeats = mode == Mode::kTolerant;
      ReadResult result = ReadCarePlanFile(name, bytes, options);
      for (const v1::Finding& f : result.findings) (void)FormatFinding(f);
      if (mode == Mode::kTolerant) CheckWriteBack(name, result);
    }
  }
  return 0;
}
