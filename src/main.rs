//! The credsift binary: parse flags, run, exit code (all in `credsift::cli`).

// mimalloc instead of the system allocator: credsift allocates and frees a body-sized buffer
// per message beside long-lived small records (findings, sightings); glibc's arenas then held
// about three times the live heap, and spent a tenth of the run in malloc/free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    credsift::cli::main_entry()
}
