// bench_card: APDUs and wall time per AuthenticateHolder and per ReadCardInfo, through the engine
// and the card_reader_pcsc plugin to a virtual My Number card in a real pcscd (vpcd).
//
// The APDU counts are the plugin's own (each answer reports what it exchanged). The peer is
// OpenSC's JPKI driver, counted from its source (OpenSC@14c80b0a, card-jpki.c / pkcs15-jpki.c /
// card.c): SELECT AP, SELECT 000A, a 4-byte header READ, ceil(N/256) READs for an N-byte
// certificate, SELECT 0018, VERIFY, SELECT 0017, SIGN = 7 + ceil(N/256); OpenSC has no
// 券面事項入力補助AP support, so for card info the peer is jpki/myna@f85dc71a (text.rs): SELECT AP,
// SELECT 0011, VERIFY, SELECT 0002, READ 7 bytes, ceil((M−7)/256) READs = 6 for the attributes, +4
// with the My Number (it verifies again). Prints per-operation figures, then:
//   RESULT auth_apdus=<n> info_apdus=<n> auth_ms=<p50> info_ms=<p50> opensc_auth_apdus=<n>
//          myna_info_apdus=<n>
#include <cstdio>
#include <vector>

#include "absl/time/clock.h"
#include "kaigo/v1/card_reader.grpc.pb.h"
#include "latency_summary.h"
#include "sandbox/certificates.h"
#include "tests/support/pcsc_stack.h"
#include "tests/support/test_env.h"

namespace {

namespace v1 = kaigo::v1;
using kaigo::testing::PcscDaemon;

constexpr char kOffice[] = "1371000017";
constexpr char kCn[] = "20260400000000000001";
constexpr int kRounds = 200;

int Fail(const std::string& what) {
  std::fprintf(stderr, "bench_card: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main() {
  kaigo::testing::TempDir dir;
  if (auto s = kaigo::sandbox::MakeJpkiCertificates(dir.path(), {kCn}, absl::Now(), 30); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  auto pcscd = PcscDaemon::Start();
  if (!pcscd.ok()) return Fail(std::string(pcscd.status().message()));
  auto card = (*pcscd)->Insert(0, dir.path(), kCn, {"--pin", "1234", "--info-pin", "1234"});
  if (!card.ok()) return Fail(std::string(card.status().message()));
  std::string config =
      dir.Write("engine.yaml",
                "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\nplugins:\n"
                "  - {name: card_reader_pcsc, path: " +
                    kaigo::testing::PluginDir() +
                    "/card_reader_pcsc.so}\noffices:\n  - number: \"" + kOffice +
                    "\"\n    concerns:\n      - service: kaigo.v1.CardReaderService\n"
                    "        plugin: card_reader_pcsc\n        settings: {reader_prefix: \"" +
                    PcscDaemon::kReaderPrefix + "\"}\nstore:\n  sqlite_path: state.db\n");
  auto engine = kaigo::testing::EngineProcess::Start(config);
  if (!engine.ok()) return Fail(std::string(engine.status().message()));
  auto stub = v1::CardReaderService::NewStub(kaigo::testing::InsecureChannel((*engine)->target()));

  v1::AuthenticateHolderRequest auth;
  auth.set_reader(PcscDaemon::Reader(0));
  auth.set_pin("1234");
  auth.set_challenge("a challenge of the platform, 32 B");
  v1::ReadCardInfoRequest info;
  info.set_reader(PcscDaemon::Reader(0));
  info.set_pin("1234");
  // The card must be seen before the first call.
  for (int i = 0; i < 100; ++i) {
    v1::AuthenticateHolderResponse ignored;
    if (stub->AuthenticateHolder(kaigo::testing::Context(kOffice).get(), auth, &ignored).ok())
      break;
    absl::SleepFor(absl::Milliseconds(100));
  }

  std::vector<double> auth_us, info_us;
  int auth_apdus = 0, info_apdus = 0;
  size_t certificate_bytes = 0;
  int64_t failed = 0;
  absl::Time start = absl::Now();
  for (int i = 0; i < kRounds; ++i) {
    v1::AuthenticateHolderResponse authenticated;
    const v1::HolderAuthentication& a = authenticated.authentication();
    absl::Time t = absl::Now();
    grpc::Status s =
        stub->AuthenticateHolder(kaigo::testing::Context(kOffice).get(), auth, &authenticated);
    auth_us.push_back(absl::ToDoubleMicroseconds(absl::Now() - t));
    if (!s.ok()) {
      ++failed;
      continue;
    }
    auth_apdus = a.apdus();
    certificate_bytes = a.certificate().size();
    v1::ReadCardInfoResponse read;
    const v1::CardInfo& c = read.card();
    t = absl::Now();
    s = stub->ReadCardInfo(kaigo::testing::Context(kOffice).get(), info, &read);
    info_us.push_back(absl::ToDoubleMicroseconds(absl::Now() - t));
    if (!s.ok()) ++failed;
    info_apdus = c.apdus();
  }
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  auto auth_f = kaigo::bench::Summarize(auth_us, seconds, failed);
  auto info_f = kaigo::bench::Summarize(info_us, seconds, failed);
  int opensc_auth = 7 + static_cast<int>((certificate_bytes + 255) / 256);
  int myna_info = 6;  // attributes EF ≤ 263 bytes: SELECT AP, SELECT 0011, VERIFY, SELECT 0002,
                      // READ 7, READ rest
  std::printf("certificate %zu bytes, %d rounds, %lld failed calls\n", certificate_bytes, kRounds,
              static_cast<long long>(failed));
  std::printf("AuthenticateHolder: %d APDUs (OpenSC JPKI driver: %d)  p50 %.2f ms  p99 %.2f ms\n",
              auth_apdus, opensc_auth, auth_f.p50_us / 1000, auth_f.p99_us / 1000);
  std::printf("ReadCardInfo:       %d APDUs (myna: %d)  p50 %.2f ms  p99 %.2f ms\n", info_apdus,
              myna_info, info_f.p50_us / 1000, info_f.p99_us / 1000);
  (*pcscd)->Remove(&*card);
  std::printf(
      "RESULT auth_apdus=%d info_apdus=%d auth_ms=%.2f info_ms=%.2f opensc_auth_apdus=%d "
      "myna_info_apdus=%d\n",
      auth_apdus, info_apdus, auth_f.p50_us / 1000, info_f.p50_us / 1000, opensc_auth, myna_info);
  return failed == 0 ? 0 : 1;
}
