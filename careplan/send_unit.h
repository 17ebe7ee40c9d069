// Send units (shared/reference/careplan-csv-4.1.md §5): the files of one send share the ファイル
// 連番 of their names, go from one office to one office, and are processed by receivers in
// ascending 連番. Which kinds may travel together is fixed by the standard. Pure functions;
// thread-safe.
#ifndef KAIGO_CAREPLAN_SEND_UNIT_H_
#define KAIGO_CAREPLAN_SEND_UNIT_H_

#include <string>
#include <vector>

#include "careplan/care_plan_reader.h"
#include "kaigo/careplan/v1/care_plan.pb.h"

namespace kaigo::careplan {

struct SendUnit {
  std::string sequence;  // ファイル連番
  std::string from_office;
  std::string to_office;
  std::vector<size_t> files;  // indexes into the names given, in the standard's kind order
};

// Groups names into units, ordered for processing: by 連番, then sender and receiver.
std::vector<SendUnit> GroupSendUnits(const std::vector<v1::FileName>& names);

// The unit's composition: kinds that may travel together, one file per kind (images excepted),
// a dependant only with its parent. Findings carry rule "send_unit" and the file they are about.
std::vector<v1::Finding> CheckSendUnit(const std::vector<v1::FileName>& unit, Mode mode);

}  // namespace kaigo::careplan

#endif  // KAIGO_CAREPLAN_SEND_UNIT_H_
