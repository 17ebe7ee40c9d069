#include "kaigo/sdk/clock.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kaigo {

absl::TimeZone JapanTime() { return absl::FixedTimeZone(9 * 3600); }

absl::CivilDay JapanDay(absl::Time t) { return absl::ToCivilDay(t, JapanTime()); }

std::string IsoDate(absl::CivilDay day) {
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

absl::StatusOr<absl::Duration> ParseClockOffset(const std::string& text) {
  absl::Duration offset;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(text, &seconds)) {
    offset = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &offset)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--clock-offset: \"", text, "\" is neither whole seconds nor a duration such as 9600h"));
  }
  if (absl::AbsDuration(offset) > absl::Hours(24 * 366 * 100)) {
    return absl::InvalidArgumentError("--clock-offset: at most 100 years either way");
  }
  return offset;
}

absl::Duration OffsetTo(absl::CivilSecond japan_time) {
  return absl::FromCivil(japan_time, JapanTime()) - absl::Now();
}

}  // namespace kaigo
