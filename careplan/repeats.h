// Blank-means-repeat in 第2表 (UP2KYO) and the 介護予防 支援計画 (UPYOBO_SUB): rows mirror the
// printed form, so a 課題 or 目標 repeated on the next row may be left blank there. An item with
// `repeats_with` repeats the previous row's value while those NO items and the plan (the items
// before the first NO) stay the same. Thread-compatible: callers own the file.
#ifndef KAIGO_CAREPLAN_REPEATS_H_
#define KAIGO_CAREPLAN_REPEATS_H_

#include "kaigo/careplan/v1/care_plan.pb.h"

namespace kaigo::careplan {

// Fills each blank that repeats the previous row (what an importer needs).
void ResolveRepeats(v1::CarePlanFile* file);
// Blanks each value equal to the one it would repeat (the printed form's way of writing).
void BlankRepeats(v1::CarePlanFile* file);

}  // namespace kaigo::careplan

#endif  // KAIGO_CAREPLAN_REPEATS_H_
