#!/usr/bin/env bash
# Runs fuzz targets one after another, each for SECONDS (default 300), from its committed seeds
# (fuzz/seeds/<target>) into the working corpus (fuzz/corpus/<target>, not committed).
# Crashes land in fuzz/artifacts/<target>/ (the run goes on after one, in libFuzzer's fork mode); copy each into
# tests/data/fuzz-regressions/<target>/ once fixed (`cargo test --test robustness` replays them).
#   RUSTC_BOOTSTRAP=1 cargo fuzz build -s none     # once (stable toolchain, no sanitizer)
#   fuzz/run.sh 600 pcap http1                     # ten minutes each for two targets
#   fuzz/run.sh smoke 20000                        # CI: RUNS executions a target, fixed seed
# `smoke` is deterministic (libFuzzer seed 1, a fresh corpus from the seeds, a count rather
# than a time), so it checks that every target builds and runs and stays a stable gate; it stops
# at the first crash with a non-zero status.
set -euo pipefail
cd "$(dirname "$0")"
smoke=0
if [ "${1:-}" = smoke ]; then
  smoke=1
  shift
fi
secs=${1:-300}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(pcap decode reassembly http1 har setcookie jwt recognize scan)
fi
bin=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release
for t in "${targets[@]}"; do
  dict=()
  case $t in
    http1|pcap|scan) dict=(-dict=dicts/http.dict) ;;
    har) dict=(-dict=dicts/har.dict) ;;
  esac
  mkdir -p "corpus/$t" "artifacts/$t"
  seeds=()
  [ -d "seeds/$t" ] && seeds=("seeds/$t")
  if [ "$smoke" = 1 ]; then
    echo "== $t ($secs runs, seed 1)"
    [ -x "$bin/$t" ] || { echo "no fuzz binary $bin/$t: build first" >&2; exit 2; }
    fresh=$(mktemp -d)
    if ! "$bin/$t" "$fresh" "${seeds[@]}" "${dict[@]}" -seed=1 -runs="$secs" -rss_limit_mb=2048 \
      -timeout=60 -artifact_prefix="artifacts/$t/" >"artifacts/$t.log" 2>&1; then
      echo "$t failed; the end of artifacts/$t.log:" >&2
      tail -n 40 "artifacts/$t.log" >&2
      rm -rf "$fresh"
      exit 1
    fi
    rm -rf "$fresh"
    grep -E "^#[0-9]+.*(DONE|cov:)" "artifacts/$t.log" | tail -n 1 || true
    continue
  fi
  echo "== $t ($secs s)"
  if [ ! -x "$bin/$t" ]; then
    echo "no fuzz binary $bin/$t: build first (RUSTC_BOOTSTRAP=1 cargo fuzz build -s none)" >&2
    exit 2
  fi
  "$bin/$t" "corpus/$t" "${seeds[@]}" "${dict[@]}" -max_total_time="$secs" -rss_limit_mb=2048 \
    -timeout=10 -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -artifact_prefix="artifacts/$t/" >"artifacts/$t.log" 2>&1 || true
  # Fork mode goes on after a crash (saved under artifacts/); its last status line has the totals.
  # No status line at all means the target did not fuzz (it failed to start).
  status=$(grep -E "^#[0-9]+: " "artifacts/$t.log" | tail -n 1) || true
  if [ -z "$status" ]; then
    echo "$t did not run; the end of artifacts/$t.log:" >&2
    tail -n 20 "artifacts/$t.log" >&2
    exit 1
  fi
  echo "$status"
  ls "artifacts/$t" | head -n 20
done
