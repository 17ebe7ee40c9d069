#include "careplan/repeats.h"

#include "careplan/layout.h"

namespace kaigo::careplan {
namespace {

using google::protobuf::Message;
using google::protobuf::Reflection;

// The same plan and the same NO items: `column`'s value on `row` repeats the one on `previous`.
bool SameGroup(const Layout& layout, const Column& column, const Message& row,
               const Message& previous) {
  const Reflection* r = row.GetReflection();
  int first_no = column.item->repeats_with(0);
  for (const Column& c : layout.columns) {
    if (c.number >= first_no) break;
    if (r->GetString(row, c.field) != r->GetString(previous, c.field)) return false;
  }
  for (int number : column.item->repeats_with()) {
    const Column* key = layout.ByNumber(number);
    if (r->GetString(row, key->field) != r->GetString(previous, key->field)) return false;
  }
  return true;
}

template <class Visit>
void ForRepeats(v1::CarePlanFile* file, Visit visit) {
  const Layout* layout = LayoutFor(file->name().kind());
  if (layout == nullptr || !layout->has_repeats) return;
  const Reflection* fr = file->GetReflection();
  int rows = fr->FieldSize(*file, layout->list);
  visit(*layout, rows, [&](int i) { return fr->MutableRepeatedMessage(file, layout->list, i); });
}

}  // namespace

void ResolveRepeats(v1::CarePlanFile* file) {
  ForRepeats(file, [](const Layout& layout, int rows, auto row_at) {
    for (int i = 1; i < rows; ++i) {
      Message* row = row_at(i);
      const Message* previous = row_at(i - 1);
      const Reflection* r = row->GetReflection();
      for (const Column& c : layout.columns) {
        if (c.item->repeats_with().empty() || !r->GetString(*row, c.field).empty()) continue;
        if (SameGroup(layout, c, *row, *previous)) {
          r->SetString(row, c.field, r->GetString(*previous, c.field));
        }
      }
    }
  });
}

void BlankRepeats(v1::CarePlanFile* file) {
  ForRepeats(file, [](const Layout& layout, int rows, auto row_at) {
    // From the last row back, so each row is compared with its predecessor's value as written.
    for (int i = rows - 1; i >= 1; --i) {
      Message* row = row_at(i);
      const Message* previous = row_at(i - 1);
      const Reflection* r = row->GetReflection();
      for (const Column& c : layout.columns) {
        if (c.item->repeats_with().empty()) continue;
        const std::string& value = r->GetString(*row, c.field);
        if (!value.empty() && value == r->GetString(*previous, c.field) &&
            SameGroup(layout, c, *row, *previous)) {
          r->SetString(row, c.field, "");
        }
      }
    }
  });
}

}  // namespace kaigo::careplan
