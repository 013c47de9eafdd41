//! The credsift binary: parse flags, run, exit code (all in `credsift::cli`).

fn main() -> std::process::ExitCode {
    credsift::cli::main_entry()
}
