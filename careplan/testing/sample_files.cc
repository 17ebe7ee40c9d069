#include "careplan/testing/sample_files.h"

#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "careplan/care_plan_writer.h"
#include "careplan/layout.h"

namespace kaigo::careplan::testing {
namespace {

using K = v1::FileKind;
using google::protobuf::Message;

constexpr absl::string_view kTexts[] = {
    "山田　花子",
    "膝の痛み、\"階段\"がつらい\r\n夜間はトイレまで付き添い",
    "ﾎｳﾓﾝｶｲｺﾞ ① 週2回",
    "",
};

std::string ValueFor(const Column& c, K kind, int recipient, int row, const SampleOptions& o) {
  const CarePlanItem& item = *c.item;
  std::string day = absl::StrFormat("%s%02d", o.month, 1 + row % 28);
  switch (item.form()) {
    case CarePlanItem::FORM_TEXT:
      return std::string(kTexts[item.required() ? 0 : (c.number + row) % 4]);
    case CarePlanItem::FORM_VERSION:
      return "202407";
    case CarePlanItem::FORM_INSURER_NUMBER:
      return "131011";
    case CarePlanItem::FORM_INSURED_NUMBER:
      return absl::StrFormat("00001%05d", 4 + recipient);
    case CarePlanItem::FORM_OFFICE_NUMBER:
      return std::string(kind == K::FILE_KIND_UPJSK || c.number == 17 || c.number == 20 ||
                                 (kind == K::FILE_KIND_UPSIKYU && c.number == 7)
                             ? kServiceOffice
                             : kCareManagerOffice);
    case CarePlanItem::FORM_DATE:  // the plan's dates stay the same over its rows
      return o.month + "01";
    case CarePlanItem::FORM_MONTH:
      return o.month;
    case CarePlanItem::FORM_TIME:
      return c.number % 2 == 0 ? "0900" : "1000";
    case CarePlanItem::FORM_CODE:
      return std::string(c.codes->codes[(recipient + row) % c.codes->size].value);
    case CarePlanItem::FORM_NUMBER:
      return std::to_string((row + c.number) % 9 + 1).substr(0, item.length());
    case CarePlanItem::FORM_DECIMAL:
      return "11.40";
    case CarePlanItem::FORM_POSTAL_CODE:
      return "100-0001";
    case CarePlanItem::FORM_PHONE:
      return "03-1234-5678";
    case CarePlanItem::FORM_CHARS:
      return item.length() >= 12 ? "00001-000010" : "";
    case CarePlanItem::FORM_SERVICE_TYPE:
      return "11";
    case CarePlanItem::FORM_SERVICE_CODE:
      return "111211";
    case CarePlanItem::FORM_DAY_MASK:
      return row % 2 == 0 ? "" : "1111100000000000000000000000000";
    default:
      return "";
  }
}

// What the kind's rules fix beyond each item's form.
void Adjust(K kind, int recipient, int row, int rows, const SampleOptions& o, Message* m) {
  auto set = [&](int number, std::string value) {
    m->GetReflection()->SetString(m, m->GetDescriptor()->FindFieldByNumber(number),
                                  std::move(value));
  };
  std::string day = absl::StrFormat("%s%02d", o.month, 1 + row % 28);
  switch (kind) {
    case K::FILE_KIND_UPHOSOKU:  // belongs to the use tables of the month
      set(4, "00000000");
      set(63, o.month);
      break;
    case K::FILE_KIND_UP2KYO:  // 課題 1 with goals 1..; blanks repeat
      set(6, "1");
      set(8, std::to_string(row / 2 + 1));
      set(13, std::to_string(row % 2 + 1));
      if (row % 2 == 1) {
        for (int n : {9, 10, 11, 12}) set(n, "");
      }
      if (row > 0) set(7, "");
      break;
    case K::FILE_KIND_UPYOBO_SUB:
      set(5, "1");
      set(10, std::to_string(row + 1));
      set(14, "1");
      if (row > 0) {
        for (int n : {6, 7, 8, 9}) set(n, "");
      }
      break;
    case K::FILE_KIND_UPPLAN:
    case K::FILE_KIND_UPJSK:
      set(10, day);
      set(16, "");
      set(17, "");
      set(18, "");
      set(19, "");
      set(22, "");
      set(23, "0");
      break;
    case K::FILE_KIND_UPSIKYU:
      set(10, "");
      set(11, "");
      set(12, "");
      if (row == rows - 2) {  // 区分支給対象 subtotal of 11
        set(9, "11AAAA");
        set(13, "0");
      } else if (row == rows - 1) {  // 全合計
        set(9, "999999");
        set(7, "9999999999");
        set(13, "0");
      }
      break;
    default:
      break;
  }
  (void)recipient;
}

}  // namespace

v1::FileName SampleName(K kind, const SampleOptions& o) {
  const KindInfo& info = *FindKind(kind);
  bool back = info.direction == Direction::kToCareManager;
  v1::FileName name;
  name.set_kind(kind);
  if (info.month_in_name) name.set_service_month(o.month);
  name.set_from_office(std::string(back ? kServiceOffice : kCareManagerOffice));
  name.set_from_service_type(back ? "11" : "43");
  name.set_to_office(std::string(back ? kCareManagerOffice : kServiceOffice));
  name.set_to_service_type(back ? "43" : "11");
  name.set_sequence(o.sequence);
  if (kind == K::FILE_KIND_UPKIHON_IMAGE) name.set_image_branch("0001");
  return name;
}

v1::CarePlanFile SampleFile(K kind, const SampleOptions& o) {
  v1::CarePlanFile file;
  *file.mutable_name() = SampleName(kind, o);
  file.set_line_ending(o.line_ending);
  if (kind == K::FILE_KIND_UPKIHON_IMAGE) {
    file.set_image(std::string("\xFF\xD8\xFF\xE0\0\x10JFIF\0", 11) + "family" + "\xFF\xD9");
    return file;
  }
  const Layout& layout = *LayoutFor(kind);
  bool deletion = FindKind(kind)->deletes != v1::FILE_KIND_UNSPECIFIED;
  int rows = deletion                       ? 1
             : kind == K::FILE_KIND_UPSIKYU ? o.rows_per_recipient + 2
                                            : o.rows_per_recipient;
  for (int recipient = 0; recipient < o.recipients; ++recipient) {
    for (int row = 0; row < rows; ++row) {
      Message* m = file.GetReflection()->AddMessage(&file, layout.list);
      for (const Column& c : layout.columns) {
        m->GetReflection()->SetString(m, c.field, ValueFor(c, kind, recipient, row, o));
      }
      if (kind == K::FILE_KIND_DLTJSK) {
        m->GetReflection()->SetString(m, layout.ByNumber(5)->field, std::string(kServiceOffice));
      }
      Adjust(kind, recipient, row, rows, o, m);
    }
  }
  return file;
}

std::string SampleBytes(K kind, const SampleOptions& o) {
  auto bytes = WriteCarePlanFile(SampleFile(kind, o));
  if (!bytes.ok()) {
    std::cerr << "SampleBytes: " << bytes.status() << "\n";
    std::abort();
  }
  return *std::move(bytes);
}

}  // namespace kaigo::careplan::testing
