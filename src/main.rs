//! The credsift binary: parse flags, run, exit code (all in `credsift::cli`).

// mimalloc instead of the system allocator: credsift allocates and frees a body-sized buffer
// per message beside long-lived small records (findings, sightings); glibc's arenas then held
// about three times the live heap, and spent a tenth of the run in malloc/free. Built without
// transparent huge pages (`no_thp`): with them, every arena page freed and reused was faulted
// back in as 2 MiB of zeroes (8% of a 1 GiB scan in the kernel's clear_page).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    credsift::cli::main_entry()
}
