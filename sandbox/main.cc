// kaigo-sandbox: a local model of the platform for tests and the demo.
//
//   kaigo-sandbox make-certs --dir DIR [--offices N,N,…] [--p12-password P] [--clock-offset S]
//                            [--valid-days 30]
//   kaigo-sandbox serve --dir DIR [--listen 127.0.0.1:0] [--ready-file FILE] [--clock-offset S]
//   kaigo-sandbox --version
//
// --clock-offset (whole seconds, or a duration such as 9600h) moves the sandbox's clock
// (kaigo/sdk/clock.h) — its seed data, token and OTP times, dates and certificate checks — as
// `kaigo-bridge serve --clock-offset` moves the engine's; POST /sandbox/clock moves it while it
// runs. serve accepts either only when it listens on loopback.
//
// make-certs writes the test PKI (see certificates.h); by default for the seeded offices and with
// the PKCS#12 password "sandbox". serve keeps its state in DIR/sandbox.db, DIR/subsidy.db,
// DIR/careplan.db, DIR/portal.db and DIR/idempotency.db (seeded when new), writes a fresh control
// token for the fault switch to DIR/control.token, and the ready file {"port":…,"pid":…} once it
// listens. It runs until SIGTERM or SIGINT.
#include <openssl/rand.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "kaigo/sdk/clock.h"
#include "kaigo/sdk/loopback.h"
#include "sandbox/card_holders.h"
#include "sandbox/certificates.h"
#include "sandbox/https_server.h"
#include "sandbox/platform_model.h"

namespace {

std::string Flag(const std::vector<std::string>& args, const std::string& name,
                 const std::string& fallback) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == name) return args[i + 1];
  }
  return fallback;
}

int Usage() {
  std::cerr << "usage:\n  kaigo-sandbox make-certs --dir DIR [--offices N,N] [--p12-password P] "
               "[--clock-offset S] [--valid-days 30]\n"
               "  kaigo-sandbox serve --dir DIR [--listen 127.0.0.1:0] [--ready-file FILE] "
               "[--clock-offset S]\n"
               "  kaigo-sandbox --version\n";
  return 2;
}

// The file's content, or "" when it cannot be read.
std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The --clock-offset flag; false (after saying why) when it is malformed.
bool ClockOffset(const std::vector<std::string>& args, absl::Duration* offset) {
  std::string text = Flag(args, "--clock-offset", "");
  if (text.empty()) return true;
  auto parsed = kaigo::ParseClockOffset(text);
  if (!parsed.ok()) {
    std::cerr << parsed.status().message() << "\n";
    return false;
  }
  *offset = *parsed;
  return true;
}

int MakeCerts(const std::vector<std::string>& args) {
  std::string dir = Flag(args, "--dir", "");
  if (dir.empty()) return Usage();
  absl::Duration offset;
  if (!ClockOffset(args, &offset)) return 2;
  kaigo::Clock clock(offset);
  int days = 0;
  if (!absl::SimpleAtoi(Flag(args, "--valid-days", "30"), &days) || days < 1 || days > 3650) {
    std::cerr << "--valid-days: a whole number of days from 1 to 3650\n";
    return 2;
  }
  std::vector<std::string> offices =
      absl::StrSplit(Flag(args, "--offices", "1371000017,1371000025,1371000033,1312345670"), ',',
                     absl::SkipEmpty());
  absl::Status s = kaigo::sandbox::MakeCertificates(
      dir, offices, Flag(args, "--p12-password", "sandbox"), clock.Now(), days);
  std::vector<std::string> cards;
  for (const auto& holder : kaigo::sandbox::kCardHolders) cards.push_back(holder.certificate_cn);
  if (s.ok()) s = kaigo::sandbox::MakeJpkiCertificates(dir, cards, clock.Now(), days);
  if (!s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  std::cout << "certificates written to " << dir << "\n";
  return 0;
}

int Serve(const std::vector<std::string>& args) {
  std::string dir = Flag(args, "--dir", "");
  if (dir.empty()) return Usage();
  std::string listen = Flag(args, "--listen", "127.0.0.1:0");
  size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port)) {
    std::cerr << "--listen: must be host:port\n";
    return 2;
  }
  absl::Duration offset;
  if (!ClockOffset(args, &offset)) return 2;
  bool loopback = kaigo::IsLoopbackHost(listen.substr(0, colon));
  if (offset != absl::ZeroDuration() && !loopback) {
    std::cerr << "--clock-offset: accepted only when listening on loopback, not " << listen << "\n";
    return 2;
  }
  kaigo::Clock clock(offset);
  auto now = [&clock] { return absl::ToUnixSeconds(clock.Now()); };
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto model = kaigo::sandbox::PlatformModel::Open(dir + "/sandbox.db", now);
  if (!model.ok()) {
    std::cerr << model.status().message() << "\n";
    return 1;
  }
  auto subsidy = kaigo::sandbox::SubsidyDesk::Open(dir + "/subsidy.db", now);
  if (!subsidy.ok()) {
    std::cerr << subsidy.status().message() << "\n";
    return 1;
  }
  unsigned char token[16];
  RAND_bytes(token, sizeof token);
  std::string control =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(token), sizeof token));
  std::ofstream(dir + "/control.token") << control;
  kaigo::sandbox::CardVerifier cards(ReadAll(dir + "/jpki-ca.crt"), now);
  auto careplan =
      kaigo::sandbox::CareplanDesk::Open(dir + "/careplan.db", model->get(), &cards, now);
  if (!careplan.ok()) {
    std::cerr << careplan.status().message() << "\n";
    return 1;
  }
  kaigo::sandbox::Mailer mailer(dir + "/mail", now);
  auto portal = kaigo::sandbox::PortalModel::Open(dir + "/portal.db", &mailer, now);
  if (!portal.ok()) {
    std::cerr << portal.status().message() << "\n";
    return 1;
  }
  auto ledger = kaigo::sandbox::IdempotencyLedger::Open(dir + "/idempotency.db", now);
  if (!ledger.ok()) {
    std::cerr << ledger.status().message() << "\n";
    return 1;
  }
  kaigo::sandbox::HttpsServer server(model->get(), subsidy->get(), careplan->get(), &cards,
                                     portal->get(), ledger->get(), dir, control, &clock, loopback);
  auto bound = server.Start(listen.substr(0, colon), port);
  if (!bound.ok()) {
    std::cerr << bound.status().message() << "\n";
    return 1;
  }
  std::string ready = Flag(args, "--ready-file", "");
  if (!ready.empty()) {
    std::ofstream(ready + ".tmp") << "{\"port\":" << *bound << ",\"pid\":" << getpid() << "}\n";
    rename((ready + ".tmp").c_str(), ready.c_str());
  }
  std::cerr << "kaigo-sandbox listening on " << listen.substr(0, colon) << ":" << *bound << "\n";
  int signal = 0;
  sigwait(&signals, &signal);
  // A blocking accept() is not reliably interrupted by closing the acceptor, and connection
  // threads are detached: leave at once; the state is in SQLite.
  _exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return Usage();
  std::string command = args[0];
  args.erase(args.begin());
  if (command == "--version") {
    std::cout << "kaigo-sandbox " << KAIGO_VERSION << "\n";  // set by cmake/Packaging.cmake
    return 0;
  }
  if (command == "make-certs") return MakeCerts(args);
  if (command == "serve") return Serve(args);
  return Usage();
}
