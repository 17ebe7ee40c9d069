// libFuzzer target: the identifier validators take outside input (calls, configuration).
// Invariants: no crash; an accepted number has its documented length; the check digit the
// validators demand is the one the helpers compute.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "kaigo/identifiers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  if (kaigo::ValidateOfficeNumber(s).ok()) {
    if (s.size() != 10) abort();
    bool medical = s[2] == '1' || s[2] == '3' || s[2] == '4' || s[2] == '5' || s[2] == '6';
    if (!medical && kaigo::OfficeNumberCheckDigit(s.substr(0, 9)) != s[9]) abort();
  }
  if (kaigo::ValidateInsurerNumber(s).ok()) {
    if (s.size() != 6 || kaigo::InsurerNumberCheckDigit(s.substr(0, 5)) != s[5]) abort();
  }
  if (kaigo::ValidateInsuredNumber(s).ok() && s.size() != 10) abort();
  kaigo::ValidateEclaimUserId(s).IgnoreError();
  return 0;
}
