#include "careplan/file_kinds.h"

namespace kaigo::careplan {
namespace {

using D = Direction;

constexpr KindInfo kKinds[] = {
    {v1::FILE_KIND_UPHOSOKU, "UPHOSOKU", "利用者補足情報", D::kToServiceOffice, true, false},
    {v1::FILE_KIND_UP1KYO, "UP1KYO", "居宅サービス計画1表", D::kToServiceOffice, false, false},
    {v1::FILE_KIND_DLT1KYO, "DLT1KYO", "居宅サービス計画1表_削除", D::kToServiceOffice, false,
     false, v1::FILE_KIND_UP1KYO},
    {v1::FILE_KIND_UP2KYO, "UP2KYO", "居宅サービス計画2表", D::kToServiceOffice, false, false},
    {v1::FILE_KIND_UP3KYO, "UP3KYO", "居宅サービス計画3表", D::kToServiceOffice, false, false},
    {v1::FILE_KIND_UPPLAN, "UPPLAN", "第6表（サービス利用票）", D::kToServiceOffice, true, false},
    {v1::FILE_KIND_DLTPLAN, "DLTPLAN", "第6表（サービス利用票）_削除", D::kToServiceOffice, true,
     false, v1::FILE_KIND_UPPLAN},
    {v1::FILE_KIND_UPJSK, "UPJSK", "実績情報", D::kToCareManager, true, false},
    {v1::FILE_KIND_DLTJSK, "DLTJSK", "実績情報_削除", D::kToCareManager, true, false,
     v1::FILE_KIND_UPJSK},
    {v1::FILE_KIND_UPSIKYU, "UPSIKYU", "第7表（サービス利用票別表）", D::kToServiceOffice, true,
     false},
    {v1::FILE_KIND_UPKIHON, "UPKIHON", "利用者基本情報", D::kToServiceOffice, false, true},
    {v1::FILE_KIND_UPKIHON_SUB1, "UPKIHON_SUB1", "利用者基本情報（別表1）１日の生活・すごし方",
     D::kToServiceOffice, false, true},
    {v1::FILE_KIND_UPKIHON_SUB2, "UPKIHON_SUB2", "利用者基本情報（別表2）現病歴・既往歴",
     D::kToServiceOffice, false, true},
    {v1::FILE_KIND_UPKIHON_IMAGE, "UPKIHON_IMAGE", "家族構成 画像ファイル", D::kToServiceOffice,
     false, true},
    {v1::FILE_KIND_UPYOBO, "UPYOBO", "介護予防サービス・支援計画書", D::kToServiceOffice, false,
     true},
    {v1::FILE_KIND_UPYOBO_SUB, "UPYOBO_SUB", "介護予防サービス・支援計画書（別表）支援計画",
     D::kToServiceOffice, false, true},
    {v1::FILE_KIND_DLTKIHON, "DLTKIHON", "利用者基本情報_削除", D::kToServiceOffice, false, true,
     v1::FILE_KIND_UPKIHON},
    {v1::FILE_KIND_DLTYOBO, "DLTYOBO", "介護予防サービス・支援計画書_削除", D::kToServiceOffice,
     false, true, v1::FILE_KIND_UPYOBO},
};

}  // namespace

const KindInfo* AllKinds(size_t* count) {
  *count = sizeof kKinds / sizeof kKinds[0];
  return kKinds;
}

const KindInfo* FindKind(FileKind kind) {
  for (const KindInfo& k : kKinds) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

const KindInfo* FindKindByPrefix(absl::string_view prefix) {
  for (const KindInfo& k : kKinds) {
    if (k.prefix == prefix) return &k;
  }
  return nullptr;
}

bool IsCareManagerServiceType(absl::string_view service_type) {
  return service_type == "43" || service_type == "46";
}

}  // namespace kaigo::careplan
