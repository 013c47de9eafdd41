#!/usr/bin/env bash
# Profile-guided build of credsift: builds an instrumented binary, runs it over a training set
# from the project's own generator (other seeds than the benchmark's 42) and `samples/`, merges
# the profiles with llvm-profdata and builds the release binary with them. Prints the binary's
# path on stdout; everything else goes to stderr.
#
#   benches/pgo.sh                          # then: BIN=<printed path> benches/run.sh 1G pcap 5
#   PGO=1 benches/run.sh 1G pcap 5          # the same in one step
#
# Why: the program is branchy parsing and table lookups in a flat profile. With the branches'
# real frequencies LLVM lays out and inlines the hot paths better: 1 GiB 7-9% faster with one
# and two threads in paired rounds on the Zen 4 VM (README, Performance). It costs two full
# release builds (~18 min on two cores), so it is a script beside the ordinary build.
#
# Needs llvm-profdata of the same LLVM as rustc: LLVM_PROFDATA, or the toolchain's own
# (`rustup component add llvm-tools`, added here when missing). Environment: CARGO_TARGET_DIR
# (the two builds go to its `pgo-gen` and `pgo-use` directories, so the ordinary build's cache is
# left alone), WORKDIR (training inputs and the merged profile; a fresh temporary directory by
# default, deleted at the end unless KEEP=1).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
GEN_DIR=$TARGET/pgo-gen
USE_DIR=$TARGET/pgo-use
WORK=${WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/credsift-pgo.XXXXXX")}
mkdir -p "$WORK"
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

profdata() {
  if [ -n "${LLVM_PROFDATA:-}" ]; then
    echo "$LLVM_PROFDATA"
    return
  fi
  local host tool
  host=$(rustc -vV | sed -n 's/^host: //p')
  tool=$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata
  if [ ! -x "$tool" ]; then
    echo "== adding the toolchain's llvm-tools (for llvm-profdata)" >&2
    rustup component add llvm-tools >&2
  fi
  echo "$tool"
}
PROFDATA=$(profdata)
[ -x "$PROFDATA" ] || { echo "no llvm-profdata at $PROFDATA (set LLVM_PROFDATA)" >&2; exit 2; }

# The raw profiles' directory is compiled into the instrumented binary: kept at one path, an
# unchanged tree does not rebuild it. The merged profile goes to a fresh path every time, so the
# second build never takes an old one for current.
RAW=$GEN_DIR/profraw

echo "== building the instrumented binary ($GEN_DIR)" >&2
(cd "$ROOT" && RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-generate=$RAW" CARGO_TARGET_DIR=$GEN_DIR \
  cargo build --release --quiet --locked --bin credsift --bin credsift-gen)
BIN=$GEN_DIR/release/credsift
GEN=$GEN_DIR/release/credsift-gen
# Emptied after the build, not before: build scripts are instrumented too, and write there as
# they run.
rm -rf "$RAW"
mkdir -p "$RAW"

echo "== generating the training set (seeds 7, 8, 9)" >&2
# The generator is instrumented too; its profile is merged with the rest and does no harm.
"$GEN" bench --out "$WORK/t.pcap" --size 200M --seed 7 --format pcap > /dev/null
"$GEN" bench --out "$WORK/t.pcapng" --size 30M --seed 8 --format pcapng > /dev/null
"$GEN" bench --out "$WORK/t.har" --size 30M --seed 9 --format har > /dev/null

echo "== training" >&2
# Both thread counts (the one-thread path reads and parses on one thread; two shard the
# connections), every input format, and every output format and report.
for t in 1 2; do
  for f in t.pcap t.pcapng t.har; do
    "$BIN" scan "$WORK/$f" --format ndjson -q --salt train --threads "$t" > /dev/null
  done
done
"$BIN" scan "$ROOT/samples" > /dev/null 2>&1 || true
"$BIN" scan "$ROOT/samples" --format json --report findings,keys,summary,sources,exchanges \
  -q > /dev/null 2>&1 || true
"$BIN" scan "$WORK/t.pcap" --format csv --report findings,keys -q -o "$WORK/out.csv"
"$BIN" scan "$WORK/t.pcapng" --format parquet -q -o "$WORK/out.parquet"
"$BIN" scan "$WORK/t.har" --format sarif -q > /dev/null

echo "== merging profiles" >&2
"$PROFDATA" merge -o "$WORK/merged.profdata" "$RAW"

echo "== building with the profile ($USE_DIR)" >&2
(cd "$ROOT" && RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-use=$WORK/merged.profdata" \
  CARGO_TARGET_DIR=$USE_DIR cargo build --release --quiet --locked --bin credsift)
echo "$USE_DIR/release/credsift"
