#!/usr/bin/env bash
# Paired A/B timing of two credsift builds on a noisy machine: each round runs A and B at the same
# time, each pinned to its own CPU (the CPUs swap every round), so that whatever else the host is
# doing slows both alike. Prints each round's wall times and B/A, then the median of B/A and its
# geometric mean over the rounds (an even number of rounds puts each build on each CPU equally),
# and the median B/A of the runs' CPU time (user + system). Every argument that names a file is
# read before each round, so the page cache is warm whatever the host evicted meanwhile. With
# INSTR=1 and valgrind installed, it first counts the instructions each build executes on the
# same arguments (cachegrind, no cache simulation: a few seconds for 100 MiB): a deterministic
# B/A for changes too small for the host's noise, blind to cache misses and contention.
#
#   benches/ab.sh ROUNDS BIN_A BIN_B ARGS...
#   e.g. benches/ab.sh 8 /tmp/credsift-old target/release/credsift \
#          scan big.pcap --format ndjson -q --salt bench --threads 1
#
# Why: on the shared development VM, runs of one binary a minute apart differ by a third and
# more, so sequential or interleaved medians hide a 5% change. Paired rounds cancel the swings
# that both runs share; the two CPUs still differ from each other (a round's B/A went from 0.78
# to 1.10 in one set), hence the swap and the geometric mean. Needs two CPUs and python3.
set -euo pipefail

if [ $# -lt 4 ]; then
  sed -n '2,14p' "$0" >&2
  exit 2
fi
ROUNDS=$1
A=$2
B=$3
shift 3
command -v python3 >/dev/null || { echo "needs python3" >&2; exit 2; }
[ "$(nproc)" -ge 2 ] || { echo "needs two CPUs" >&2; exit 2; }

python3 - "$ROUNDS" "$A" "$B" "$@" <<'EOF'
import math, os, statistics, subprocess, sys, time

rounds, a, b, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
inputs = [x for x in args if os.path.isfile(x)]

def warm():
    for path in inputs:
        with open(path, "rb") as f:
            while f.read(1 << 20):
                pass

def instructions(binary):
    out = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no",
                          "--cachegrind-out-file=/dev/null", binary, *args],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True).stderr
    refs = [l for l in out.splitlines() if "I   refs:" in l or "I refs:" in l]
    if not refs:
        sys.exit(f"valgrind gave no instruction count for {binary}:\n{out[-2000:]}")
    return int(refs[-1].split(":")[1].replace(",", ""))

if os.environ.get("INSTR") == "1":
    ia, ib = instructions(a), instructions(b)
    print(f"instructions: A {ia:,}  B {ib:,}  B/A {ib / ia:.4f}")

def start(binary, cpu):
    t = time.perf_counter()
    p = subprocess.Popen([binary, *args], stdout=subprocess.DEVNULL,
                         preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
    return p, t

ratios, cpu_ratios = [], []
for r in range(rounds):
    warm()
    ca, cb = (r % 2, 1 - r % 2)
    runs = {"A": start(a, ca), "B": start(b, cb)}
    by_pid = {p.pid: (name, t) for name, (p, t) in runs.items()}
    took, cpu = {}, {}
    while by_pid:
        # Whichever ends first is timed when it ends, not when the other does.
        pid, status, usage = os.wait4(-1, 0)
        if pid not in by_pid:
            continue
        name, t = by_pid.pop(pid)
        took[name] = time.perf_counter() - t
        cpu[name] = usage.ru_utime + usage.ru_stime
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{name} exited with {os.waitstatus_to_exitcode(status)}")
    ratios.append(took["B"] / took["A"])
    cpu_ratios.append(cpu["B"] / cpu["A"])
    print(f"round {r + 1}: A {took['A']:.3f} s (cpu {ca})  B {took['B']:.3f} s (cpu {cb})"
          f"  B/A {ratios[-1]:.3f}  CPU time B/A {cpu_ratios[-1]:.3f}")
geo = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
print(f"B/A: median {statistics.median(ratios):.3f}, geometric mean {geo:.3f} over {rounds} rounds")
# User + system time of each run: time a run spent waiting (for the disk, or for a vCPU the
# host gave to someone else) is not charged to it, so for one-thread runs this is a second view
# of the same rounds; for several threads, wall time is the figure that matters.
print(f"CPU time B/A: median {statistics.median(cpu_ratios):.3f}")
EOF
