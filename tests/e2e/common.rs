//! Helpers shared by the end-to-end tests: running the binary and locating inputs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_credsift"));
    c.env_remove("CREDSIFT_SALT").env("NO_COLOR", "1");
    c
}

/// Runs credsift with `args` and no stdin.
pub fn run(args: &[&str]) -> Output {
    bin()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the credsift binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn samples() -> PathBuf {
    repo().join("samples")
}

/// `../shared/corpus` beside the checkout, when present.
pub fn corpus() -> Option<PathBuf> {
    let p = repo().join("..").join("shared").join("corpus");
    p.join("MANIFEST.tsv").is_file().then_some(p)
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write test input");
    p
}
