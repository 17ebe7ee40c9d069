// What a receiver holds after applying files in send-unit order, by the standard's keys
// (shared/reference/careplan-csv-4.1.md §7): an UP file replaces, per key, the rows of its kind;
// a 削除 removes its parent's rows and the dependants' (DLT1KYO → 第1表, 第2表, 第3表 and their
// 利用者補足; DLTPLAN → 第6表, 第7表 and theirs; DLTJSK → one office's 実績 of one service type;
// DLTKIHON → 利用者基本情報 and 別表1/2; DLTYOBO → 予防計画書 and 別表).
//
// Keys: plan 保険者番号/被保険者番号/居宅サービス計画作成(変更)日; use table …/対象年月; 実績
// …/対象年月/サービス事業者コード/サービス種類コード; 予防 …/相談日 or …/計画作成(変更)日.
// Thread-compatible.
#ifndef KAIGO_CAREPLAN_CARE_PLAN_BOOK_H_
#define KAIGO_CAREPLAN_CARE_PLAN_BOOK_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "kaigo/careplan/v1/care_plan.pb.h"

namespace kaigo::careplan {

class CarePlanBook {
 public:
  void Apply(const v1::CarePlanFile& file);

  // The rows of `kind` held under `key` (e.g. "131011/0000100004/20261101"), in file order.
  std::vector<const google::protobuf::Message*> Rows(v1::FileKind kind,
                                                     const std::string& key) const;
  // Every key holding rows of `kind`.
  std::vector<std::string> Keys(v1::FileKind kind) const;

 private:
  using Rowset = std::vector<std::unique_ptr<google::protobuf::Message>>;
  std::map<v1::FileKind, std::map<std::string, Rowset>> rows_;
};

}  // namespace kaigo::careplan

#endif  // KAIGO_CAREPLAN_CARE_PLAN_BOOK_H_
