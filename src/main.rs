//! The credsift binary: parse flags, run, exit code (all in `credsift::cli`).

// mimalloc instead of the system allocator: credsift allocates and frees a body-sized buffer
// per message beside long-lived small records (findings, sightings); glibc's arenas then held
// about three times the live heap, and spent a tenth of the run in malloc/free. Built without
// transparent huge pages (`no_thp`): with them, every arena page freed and reused was faulted
// back in as 2 MiB of zeroes (8% of a 1 GiB scan in the kernel's clear_page).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (the bindings do not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory stays mapped before mimalloc returns it (mimalloc 3 waits 1000 ms).
/// A scan frees whole spill buffers and report parts at once, and then builds others: held for a
/// second, the freed ones counted in the peak beside the new (a 3 GiB scan on two threads peaked
/// at ~250 MiB instead of ~170). Purging sooner refaults pages that are reused within the
/// delay; 100 ms cost no measurable time on the 1 GiB bench, 10 ms did (~5%).
const PURGE_DELAY_MS: std::os::raw::c_long = 100;

fn main() -> std::process::ExitCode {
    // The environment, if it sets the delay, still decides: mimalloc read it at start-up, under
    // either name and in any case.
    let set_by_env = std::env::vars_os().any(|(k, _)| {
        let k = k.to_string_lossy().to_ascii_uppercase();
        k == "MIMALLOC_PURGE_DELAY" || k == "MIMALLOC_RESET_DELAY"
    });
    if !set_by_env {
        // SAFETY: mimalloc keeps its options in plain variables, not atomics; this is the first
        // thing the program does, before any other thread exists that could read it, and any
        // value is valid for this option.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
    credsift::cli::main_entry()
}
