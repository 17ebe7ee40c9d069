// The one clock for business dates and stored timestamps — "now" and "today" — shared by the
// engine, its plugins (through the host, see HostServices::Now) and the sandbox.
//
// It reads the system time plus an offset. Production's offset is zero and no configuration can
// move it; tests move a loopback-only engine (`kaigo-bridge serve --clock-offset`) and the sandbox
// (`kaigo-sandbox serve --clock-offset`, `POST /sandbox/clock`) to a named day, the same offset for
// both. Dates are Japan's (UTC+9, no daylight saving), as the platform's.
//
// Deadlines, TTLs and backoff never read this clock: they stay on a monotonic clock, so moving it
// neither stretches nor fires a timeout.
//
//   kaigo::Clock clock(absl::Hours(24 * 400));
//   absl::CivilDay today = clock.Today();  // 400 days from now, in Japan
//
// Thread-safe: the offset may be changed while other threads read the clock.
#ifndef KAIGO_SDK_CLOCK_H_
#define KAIGO_SDK_CLOCK_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kaigo {

// Japan Standard Time, the zone of every date on the platform.
absl::TimeZone JapanTime();
absl::CivilDay JapanDay(absl::Time t);
// "2027-03-31".
std::string IsoDate(absl::CivilDay day);

class Clock {
 public:
  explicit Clock(absl::Duration offset = absl::ZeroDuration()) : offset_us_(ToMicros(offset)) {}
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;

  absl::Time Now() const {
    return absl::Now() + absl::Microseconds(offset_us_.load(std::memory_order_relaxed));
  }
  absl::CivilDay Today() const { return JapanDay(Now()); }

  absl::Duration offset() const {
    return absl::Microseconds(offset_us_.load(std::memory_order_relaxed));
  }
  void set_offset(absl::Duration offset) {
    offset_us_.store(ToMicros(offset), std::memory_order_relaxed);
  }

 private:
  static int64_t ToMicros(absl::Duration d) { return absl::ToInt64Microseconds(d); }
  std::atomic<int64_t> offset_us_;
};

// A --clock-offset value: whole seconds ("34560000", "-86400") or a duration ("9600h", "-24h").
// At most 100 years either way.
absl::StatusOr<absl::Duration> ParseClockOffset(const std::string& text);

// The offset that makes the clock read `japan_time` (a civil time in Japan) now.
absl::Duration OffsetTo(absl::CivilSecond japan_time);

}  // namespace kaigo

#endif  // KAIGO_SDK_CLOCK_H_
