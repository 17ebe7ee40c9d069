// bench_sealing: what sealing every plugin value at rest (engine/store/sealing_store.h) costs,
// through the engine's own store.
//
// Writes and reads of 2 KiB values (about a subsidy draft) on SQLite (synchronous=FULL, the desk
// default, in a temp directory on the machine's disk) with and without the seal, one at a time;
// seal and open of a 5 MiB value (an attachment) in memory; and the start-up migration: 5000
// values of 2 KiB written in clear, then Reseal (seals each by compare-and-set, then VACUUM and a
// truncating WAL checkpoint), a later start's look over them, and `store rekey` of them to a new
// key. Prints the figures, then:
//   RESULT plain_put_p50_us=<> sealed_put_p50_us=<> plain_get_p50_us=<> sealed_get_p50_us=<>
//          seal_5mib_ms=<> open_5mib_ms=<> migrate_values_per_s=<> start_check_ms=<>
//          rekey_values_per_s=<>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/store/sealing_store.h"
#include "latency_summary.h"
#include "tests/support/test_env.h"

namespace {

using kaigo::bench::Figures;
using kaigo::bench::Summarize;
using kaigo::engine::SealingKeyring;
using kaigo::engine::SealingStore;
using kaigo::engine::Store;

constexpr int kValues = 2000;
constexpr int kMigrated = 5000;

double Micros(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, std::string(s.message()).c_str());
    std::exit(1);
  }
}

std::unique_ptr<Store> Open(const std::string& path) {
  kaigo::engine::AuditKeyring audit;
  audit.signing_id = "bench";
  audit.secrets["bench"] = std::string(32, 'a');
  auto store = kaigo::engine::OpenSqliteStore(path, audit);
  Check(store.status(), "open");
  return *std::move(store);
}

SealingKeyring Keys(const std::string& id, char fill, const SealingKeyring& retired = {}) {
  SealingKeyring keys = retired;
  keys.signing_id = id;
  keys.secrets[id] = std::string(64, fill);
  return keys;
}

std::unique_ptr<SealingStore> Sealed(std::unique_ptr<Store> inner, SealingKeyring keys) {
  auto store = SealingStore::Create(std::move(inner), std::move(keys));
  Check(store.status(), "seal");
  return *std::move(store);
}

// Puts then gets kValues values of 2 KiB through `store`.
std::pair<Figures, Figures> PutsAndGets(Store& store) {
  std::string value(2048, 'x');
  std::vector<double> latencies;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kValues; ++i) {
    value[i % value.size()] = static_cast<char>('a' + i % 26);
    auto t = std::chrono::steady_clock::now();
    Check(store.Put("subsidy_filing", "1371000017", absl::StrCat("app/", i), value), "put");
    latencies.push_back(Micros(std::chrono::steady_clock::now() - t));
  }
  Figures put = Summarize(latencies, Micros(std::chrono::steady_clock::now() - start) / 1e6, 0);
  latencies.clear();
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < kValues; ++i) {
    auto t = std::chrono::steady_clock::now();
    Check(store.Get("subsidy_filing", "1371000017", absl::StrCat("app/", i)).status(), "get");
    latencies.push_back(Micros(std::chrono::steady_clock::now() - t));
  }
  Figures get = Summarize(latencies, Micros(std::chrono::steady_clock::now() - start) / 1e6, 0);
  return {put, get};
}

}  // namespace

int main() {
  kaigo::testing::TempDir dir;
  auto [plain_put, plain_get] = PutsAndGets(*Open(dir.path() + "/plain.db"));
  auto sealed_store = Sealed(Open(dir.path() + "/sealed.db"), Keys("k1", '1'));
  auto [sealed_put, sealed_get] = PutsAndGets(*sealed_store);
  sealed_store.reset();
  std::printf(
      "2 KiB values, SQLite FULL: put p50 %.1f us plain, %.1f us sealed (p99 %.1f / %.1f);"
      " get p50 %.1f us plain, %.1f us sealed\n",
      plain_put.p50_us, sealed_put.p50_us, plain_put.p99_us, sealed_put.p99_us, plain_get.p50_us,
      sealed_get.p50_us);

  // A 5 MiB attachment, in memory.
  auto memory = Sealed(Open(""), Keys("k1", '1'));
  std::string attachment(5 << 20, 'p');
  auto t = std::chrono::steady_clock::now();
  Check(memory->Put("subsidy_filing", "1371000017", "att/a/b", attachment), "put 5 MiB");
  double seal_ms = Micros(std::chrono::steady_clock::now() - t) / 1000;
  std::string raw = *memory->inner().Get("subsidy_filing", "1371000017", "att/a/b");
  t = std::chrono::steady_clock::now();
  Check(memory->Get("subsidy_filing", "1371000017", "att/a/b").status(), "get 5 MiB");
  double open_ms = Micros(std::chrono::steady_clock::now() - t) / 1000;
  std::printf("5 MiB value in memory: put %.1f ms, get %.1f ms (%zu bytes stored)\n", seal_ms,
              open_ms, raw.size());

  // The migration at start, and a rekey.
  const std::string path = dir.path() + "/migrated.db";
  {
    auto clear = Open(path);
    std::string value(2048, 'c');
    for (int i = 0; i < kMigrated; ++i) {
      Check(clear->Put("subsidy_filing", "1371000017", absl::StrCat("app/", i), value), "clear");
    }
  }
  auto store = Sealed(Open(path), Keys("k1", '1'));
  t = std::chrono::steady_clock::now();
  auto migrated = store->Reseal(/*rekey=*/false);
  double migrate_s = Micros(std::chrono::steady_clock::now() - t) / 1e6;
  Check(migrated.status(), "migrate");
  // Every later start looks the values over again (nothing to seal, nothing opened).
  t = std::chrono::steady_clock::now();
  Check(store->Reseal(/*rekey=*/false).status(), "start");
  double start_ms = Micros(std::chrono::steady_clock::now() - t) / 1000;
  store.reset();
  auto rotated = Sealed(Open(path), Keys("k2", '2', Keys("k1", '1')));
  t = std::chrono::steady_clock::now();
  auto rekeyed = rotated->Reseal(/*rekey=*/true);
  double rekey_s = Micros(std::chrono::steady_clock::now() - t) / 1e6;
  Check(rekeyed.status(), "rekey");
  if (migrated->sealed != kMigrated || rekeyed->resealed != kMigrated) {
    std::fprintf(stderr, "migrated %lld, rekeyed %lld of %d\n",
                 static_cast<long long>(migrated->sealed),
                 static_cast<long long>(rekeyed->resealed), kMigrated);
    return 1;
  }
  std::printf(
      "migration of %d clear values of 2 KiB: %.2f s (%.0f/s, compaction included); a later "
      "start's look over them: %.1f ms; rekey: %.2f s (%.0f/s)\n",
      kMigrated, migrate_s, kMigrated / migrate_s, start_ms, rekey_s, kMigrated / rekey_s);
  std::printf(
      "RESULT plain_put_p50_us=%.1f sealed_put_p50_us=%.1f plain_get_p50_us=%.1f "
      "sealed_get_p50_us=%.1f seal_5mib_ms=%.1f open_5mib_ms=%.1f migrate_values_per_s=%.0f "
      "start_check_ms=%.1f rekey_values_per_s=%.0f\n",
      plain_put.p50_us, sealed_put.p50_us, plain_get.p50_us, sealed_get.p50_us, seal_ms, open_ms,
      kMigrated / migrate_s, start_ms, kMigrated / rekey_s);
  return 0;
}
