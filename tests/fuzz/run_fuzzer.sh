#!/usr/bin/env bash
# run_fuzzer.sh build SOURCE_DIR FUZZ_BUILD_DIR       builds the fuzz targets with clang-14
# run_fuzzer.sh run FUZZ_BUILD_DIR NAME SECONDS CORPUS  runs one for a bounded time
# Longer by hand (new inputs go to the first, scratch, folder; the seeds stay untouched):
#   build/fuzz/NAME_fuzz -max_total_time=3600 $(mktemp -d) tests/fuzz/corpus/NAME
set -euo pipefail
case "$1" in
  build)
    cmake -S "$2" -B "$3" -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKAIGO_BUILD_FUZZERS=ON -DKAIGO_BUILD_TESTS=OFF \
      -DKAIGO_BUILD_BENCHMARKS=OFF > "$3.configure.log"
    cmake --build "$3" --target identifiers_fuzz config_fuzz qualification_response_fuzz \
      certification_answers_fuzz attachment_type_fuzz card_data_fuzz mail_message_fuzz \
      careplan_csv_fuzz careplan_file_name_fuzz exchange_answers_fuzz platform_answers_fuzz \
      isolation_frame_fuzz 2>&1 |
      tail -n 2 ;;
  run)
    work=$(mktemp -d)
    cp -r "$5"/. "$work"/
    # -timeout: one input taking over 10 s is a hang; a crash or leak fails the run.
    "$2/$3_fuzz" -max_total_time="$4" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      "$work" 2>&1 | tail -n 12
    rm -rf "$work" ;;
esac
