#include "careplan/layout.h"

#include <map>
#include <mutex>

#include "absl/strings/ascii.h"

namespace kaigo::careplan {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

std::map<FileKind, Layout> BuildLayouts() {
  std::map<FileKind, Layout> layouts;
  const Descriptor* file = v1::CarePlanFile::descriptor();
  size_t count = 0;
  const KindInfo* kinds = AllKinds(&count);
  for (size_t i = 0; i < count; ++i) {
    const FieldDescriptor* list =
        file->FindFieldByName(absl::AsciiStrToLower(std::string(kinds[i].prefix)));
    if (list == nullptr) continue;  // the family image
    Layout layout;
    layout.kind = &kinds[i];
    layout.list = list;
    layout.record = list->message_type();
    for (int n = 1; n <= layout.record->field_count(); ++n) {
      const FieldDescriptor* field = layout.record->FindFieldByNumber(n);
      Column column;
      column.number = n;
      column.field = field;
      column.item = &field->options().GetExtension(options::v1::kaigo_field).item();
      column.form = column.item->form();
      column.length = column.item->length();
      column.required = column.item->required();
      CarePlanItem::Form f = column.form;
      column.remembered = f == CarePlanItem::FORM_OFFICE_NUMBER ||
                          f == CarePlanItem::FORM_INSURER_NUMBER ||
                          f == CarePlanItem::FORM_INSURED_NUMBER || f == CarePlanItem::FORM_CODE ||
                          f == CarePlanItem::FORM_VERSION || f == CarePlanItem::FORM_DATE ||
                          f == CarePlanItem::FORM_MONTH || f == CarePlanItem::FORM_SERVICE_CODE;
      if (column.item->form() == CarePlanItem::FORM_CODE)
        column.codes = FindCodeTable(column.item->codes());
      if (!column.item->repeats_with().empty()) layout.has_repeats = true;
      layout.columns.push_back(column);
    }
    bool before40 = kinds[i].kind != v1::FILE_KIND_UP3KYO && !kinds[i].prevention;
    for (const Column& column : layout.columns) {
      if (!before40) break;
      if (column.item->since_version().empty()) layout.before40_columns.push_back(column);
    }
    layouts.emplace(kinds[i].kind, std::move(layout));
  }
  return layouts;
}

}  // namespace

VersionKind ClassifyVersion(absl::string_view version) {
  if (version == kWrittenVersion) return VersionKind::kCurrent;
  if (version == "202504") return VersionKind::kVersion40;
  if (version == "202410") return VersionKind::kNonStandard;
  if (version == "201910" || version == "202003" || version == "202208") {
    return VersionKind::kBefore40;
  }
  return VersionKind::kUnknown;
}

const Layout* LayoutFor(FileKind kind) {
  static const std::map<FileKind, Layout>* layouts = new std::map<FileKind, Layout>(BuildLayouts());
  auto it = layouts->find(kind);
  return it == layouts->end() ? nullptr : &it->second;
}

}  // namespace kaigo::careplan
