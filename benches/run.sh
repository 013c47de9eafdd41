#!/usr/bin/env bash
# End-to-end benchmark: builds credsift in release, generates a capture of SIZE with
# credsift-gen (seed 42), scans it with 1 and N threads (median of RUNS runs each), prints MB/s
# and peak RSS (from /usr/bin/time -v), checks the generator's ground truth against credsift's
# sources report, and runs the same file through tshark when it is installed (MB/s, peak RSS,
# ratio).
#
#   benches/run.sh [SIZE] [FORMAT] [RUNS]     e.g.  benches/run.sh 1G pcap 5
#
# Environment: THREADS (N, default: all cores), WORKDIR (where the input goes, default a fresh
# directory under ${TMPDIR:-/tmp}; it is deleted at the end unless KEEP=1), TSHARK=0 (skip the
# tshark comparison), CARGO_TARGET_DIR, PGO=1 (scan with the profile-guided build of
# `benches/pgo.sh`, ~18 min of building) or BIN (scan with that credsift binary instead).
set -euo pipefail

SIZE=${1:-1G}
FORMAT=${2:-pcap}
RUNS=${3:-5}
THREADS=${THREADS:-$(nproc)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "needs python3 (ground-truth check)" >&2; exit 2; }

echo "== building (release)" >&2
(cd "$ROOT" && cargo build --release --quiet --bin credsift --bin credsift-gen)
if [ "${PGO:-0}" = 1 ] && [ -z "${BIN:-}" ]; then
  echo "== building with profile-guided optimization (benches/pgo.sh)" >&2
  BIN=$("$ROOT/benches/pgo.sh")
fi
BIN=${BIN:-$TARGET/release/credsift}
GEN=$TARGET/release/credsift-gen
echo "binary: $BIN"

WORK=${WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/credsift-bench.XXXXXX")}
mkdir -p "$WORK"
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

case "$FORMAT" in
  pcap) EXT=pcap ;;
  pcapng) EXT=pcapng ;;
  har) EXT=har ;;
  *) echo "FORMAT is pcap, pcapng or har" >&2; exit 2 ;;
esac
INPUT=$WORK/bench.$EXT
TRUTH=$WORK/truth.json

echo "== generating $SIZE $FORMAT (seed 42)" >&2
"$GEN" bench --out "$INPUT" --size "$SIZE" --seed 42 --format "$FORMAT" > "$TRUTH"
BYTES=$(stat -c %s "$INPUT")
# One timed run: prints "seconds max_rss_kib". The input is read first, every time: "warm page
# cache" has to be made true before each run, since some VMs evict page-cache pages even while
# idle (on the Firecracker dev VM, ~2 MB/s of the 1 GiB input with 20 GB free, so a run a minute
# after the last read 100 MB back from disk).
timed() {
  local log=$WORK/time.log
  cat "$INPUT" > /dev/null
  /usr/bin/time -v "$BIN" scan "$INPUT" --format ndjson -q --salt bench "$@" > /dev/null 2> "$log"
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$log" | awk '{print $NF}')
  python3 - "$wall" "$rss" <<'EOF'
import sys
w = sys.argv[1].split(":")
secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(w)))
print(f"{secs:.3f} {sys.argv[2]}")
EOF
}

# Median of RUNS runs: prints "MB/s peak_rss_MiB".
measure() {
  local out=""
  for _ in $(seq "$RUNS"); do out+="$(timed "$@")"$'\n'; done
  python3 - "$BYTES" <<EOF
import statistics, sys
rows = [l.split() for l in """$out""".strip().splitlines()]
secs = statistics.median(float(r[0]) for r in rows)
rss = max(int(r[1]) for r in rows) / 1024
print(f"{int(sys.argv[1]) / secs / 1e6:.0f} {rss:.0f}")
EOF
}

# The machine, since figures differ by CPU, and which scan of long bodies the keyword prefilter
# runs on it (credsift times its two scans at start-up and says which it chose under -v).
CPU=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')
PREFILTER=$("$BIN" scan -v --format ndjson /dev/null 2>&1 >/dev/null |
  sed -n 's/^credsift: keyword prefilter: //p' || true)
echo "machine: ${CPU:-unknown CPU}, $(nproc) cores; keyword prefilter: $PREFILTER"

echo "== scanning $(numfmt --to=iec "$BYTES") ($BYTES bytes), median of $RUNS runs" >&2
read -r MBS1 RSS1 < <(measure --threads 1)
echo "credsift --threads 1:  $MBS1 MB/s, peak RSS $RSS1 MiB"
read -r MBSN RSSN < <(measure --threads "$THREADS")
echo "credsift --threads $THREADS:  $MBSN MB/s, peak RSS $RSSN MiB"
python3 -c "print(f'speed-up $THREADS threads vs 1: {$MBSN / $MBS1:.2f}x')"

echo "== ground truth" >&2
"$BIN" scan "$INPUT" --format json --report sources,keys -q --salt bench > "$WORK/sources.json"
python3 - "$TRUTH" "$WORK/sources.json" "$FORMAT" <<'EOF'
import json, sys
truth = json.load(open(sys.argv[1]))
got = json.load(open(sys.argv[2]))
src = got["sources"][0]
fmt = sys.argv[3]
checks = [("exchanges", truth["exchanges"], src["exchanges"])]
if fmt != "har":
    checks += [
        ("tcp connections", truth["connections"], src["tcp_connections"]),
        ("tls connections", truth["tls_connections"], src["tls_connections"]),
        ("packets", truth["packets"], src["packets"]),
    ]
bad = 0
for name, want, have in checks:
    ok = want == have
    bad += not ok
    print(f"  {name:16} truth {want:>10}  credsift {have:>10}  {'ok' if ok else 'MISMATCH'}")
print("ground truth:", "met" if not bad else f"{bad} mismatch(es)")
EOF

if [ "${TSHARK:-1}" != 0 ] && command -v tshark >/dev/null && [ "$FORMAT" != har ]; then
  echo "== tshark" >&2
  cat "$INPUT" > /dev/null
  /usr/bin/time -f "%e %M" -o "$WORK/tshark.time" \
    tshark -r "$INPUT" -Y http.request -T fields -e http.request.method > /dev/null 2>&1 || true
  read -r TS_SECS TS_RSS < "$WORK/tshark.time"
  python3 -c "
mbs = $BYTES / $TS_SECS / 1e6
print(f'tshark (http.request fields): {mbs:.0f} MB/s, peak RSS {$TS_RSS / 1024:.0f} MiB; credsift is {$MBSN / mbs:.0f}x faster with $THREADS threads')"
else
  echo "(tshark not installed or HAR input: no tshark comparison)"
fi
