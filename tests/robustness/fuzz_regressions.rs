//! Replays every file under `tests/data/fuzz-regressions/<target>/` through the fuzz harness of
//! that target (`fuzz/src/lib.rs`, shared with the fuzzers), so that each crash found by
//! fuzzing stays fixed. Seeds under `fuzz/seeds/<target>/` are replayed too: they are the
//! inputs a fuzzer starts from, and must pass as well.

use std::path::{Path, PathBuf};

use crate::harness;

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| p.is_file());
    out.sort();
    out
}

fn replay(root: &str) -> usize {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join(root);
    let mut n = 0;
    for target in harness::TARGETS {
        for f in files_under(&base.join(target)) {
            let data = std::fs::read(&f).expect("read regression input");
            let outcome = std::panic::catch_unwind(|| harness::run(target, &data));
            assert!(outcome.is_ok(), "{target}: {} fails again", f.display());
            n += 1;
        }
    }
    n
}

#[test]
fn fuzz_crash_inputs_stay_fixed() {
    let n = replay("tests/data/fuzz-regressions");
    eprintln!("{n} regression inputs replayed");
}

#[test]
fn fuzz_seeds_pass() {
    let n = replay("fuzz/seeds");
    assert!(n > 0, "no seeds found under fuzz/seeds");
}
