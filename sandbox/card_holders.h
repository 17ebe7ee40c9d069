// The sandbox's My Number card holders: the subject common name of each test card's JPKI
// user-authentication certificate (a long digit string, as on real cards) and the recipient the
// platform maps it to. make-certs issues the certificates; the platform model maps them.
#ifndef KAIGO_SANDBOX_CARD_HOLDERS_H_
#define KAIGO_SANDBOX_CARD_HOLDERS_H_

namespace kaigo::sandbox {

struct CardHolder {
  const char* certificate_cn;
  const char* insurer;
  const char* insured;
};

inline constexpr CardHolder kCardHolders[] = {
    {"20260400000000000001", "131011", "0000100004"},  // valid, 要介護1
    {"20260400000000000002", "131011", "0000100007"},  // expired certification
    {"20260400000000000003", "122192", "0000100046"},  // municipality not live
};

}  // namespace kaigo::sandbox

#endif  // KAIGO_SANDBOX_CARD_HOLDERS_H_
