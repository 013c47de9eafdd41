//! Inputs synthesized while they are read, never held whole: a classic pcap stream whose records
//! come from a generator, Ethernet/IPv4/TCP frames, a HAR document around a huge string, and the
//! measurement of a test's peak memory and time.

use std::io::{self, Read};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The tests of this binary run one at a time, so that one's peak memory is its own.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs the test named `test` (its path within this binary) in a process of its own and returns
/// false there-after in the calling process; returns true in that process, which then runs the
/// test body. Peak memory is per process, and an allocator keeps what earlier tests freed, so a
/// measurement is only honest in a fresh process.
pub fn own_process(test: &str) -> bool {
    if std::env::var_os("CREDSIFT_OWN_PROCESS").is_some() {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let out = std::process::Command::new(exe)
        .args([
            test,
            "--exact",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CREDSIFT_OWN_PROCESS", "1")
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for l in stderr.lines().filter(|l| l.starts_with("adversarial ")) {
        eprintln!("{l}");
    }
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{test} failed in its own process:\n{stdout}\n{stderr}"
    );
    false
}

fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What a measured run cost.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    /// Peak resident memory above what the process held when the run started, in MiB (`None`
    /// where /proc is unavailable).
    pub peak_mib: Option<f64>,
    pub elapsed: Duration,
}

/// Runs `f` and measures its peak memory (VmHWM, reset first through `/proc/self/clear_refs`)
/// and its time. Prints both, so that `--nocapture` shows the measurements.
pub fn measure<T>(name: &str, f: impl FnOnce() -> T) -> (T, Cost) {
    give_back_free_memory();
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let base = status_kib("VmRSS:");
    let started = Instant::now();
    let out = f();
    let elapsed = started.elapsed();
    let peak = if reset { status_kib("VmHWM:") } else { None };
    let peak_mib = match (peak, base) {
        (Some(p), Some(b)) => Some(p.saturating_sub(b) as f64 / 1024.0),
        _ => None,
    };
    eprintln!(
        "adversarial {name}: peak +{} MiB, {:.2} s",
        peak_mib.map_or("?".to_string(), |m| format!("{m:.1}")),
        elapsed.as_secs_f64()
    );
    (out, Cost { peak_mib, elapsed })
}

/// Returns the allocator's free memory to the system, so that an earlier test's freed heap does
/// not hide this one's peak (glibc keeps small freed blocks resident).
fn give_back_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim only releases free heap pages; it has no preconditions.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Asserts a cost bound: peak memory (when measurable) and time.
pub fn assert_within(name: &str, c: Cost, max_mib: f64, max_secs: f64) {
    if let Some(m) = c.peak_mib {
        assert!(
            m <= max_mib,
            "{name}: peak memory +{m:.1} MiB over the {max_mib} MiB bound"
        );
    }
    let s = c.elapsed.as_secs_f64();
    assert!(
        s <= max_secs,
        "{name}: {s:.1} s over the {max_secs} s bound"
    );
}

pub const LINKTYPE_ETHERNET: u32 = 1;

/// The 24-byte header of a little-endian, microsecond classic pcap.
pub fn pcap_header(snaplen: u32, linktype: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(24);
    h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&0i32.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&snaplen.to_le_bytes());
    h.extend_from_slice(&linktype.to_le_bytes());
    h
}

pub const SYN: u8 = 0x02;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;
pub const FIN: u8 = 0x01;

/// One TCP endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Ep {
    pub ip: [u8; 4],
    pub port: u16,
}

pub const CLIENT: Ep = Ep {
    ip: [10, 0, 0, 1],
    port: 40000,
};
pub const SERVER: Ep = Ep {
    ip: [10, 0, 0, 2],
    port: 80,
};

/// Appends one pcap record holding an Ethernet/IPv4/TCP frame; `fill` writes the payload of
/// `len` bytes in place (so a big payload costs no extra copy).
#[allow(clippy::too_many_arguments)]
pub fn record(
    out: &mut Vec<u8>,
    ts_us: u64,
    src: Ep,
    dst: Ep,
    seq: u32,
    ack: u32,
    flags: u8,
    len: usize,
    fill: impl FnOnce(&mut [u8]),
) {
    let frame_len = 14 + 20 + 20 + len;
    out.extend_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&(frame_len as u32).to_le_bytes());
    out.extend_from_slice(&(frame_len as u32).to_le_bytes());
    // Ethernet
    out.extend_from_slice(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00]);
    // IPv4, no options; the checksum is not checked by readers of captures.
    let total = (20 + 20 + len) as u16;
    out.extend_from_slice(&[0x45, 0]);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    out.extend_from_slice(&src.ip);
    out.extend_from_slice(&dst.ip);
    // TCP, no options.
    out.extend_from_slice(&src.port.to_be_bytes());
    out.extend_from_slice(&dst.port.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&ack.to_be_bytes());
    out.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    let at = out.len();
    out.resize(at + len, 0);
    fill(&mut out[at..]);
}

/// A reader over bytes produced on demand: `more` appends the next piece to the buffer and
/// returns false when there is nothing more.
pub struct Synth<F: FnMut(&mut Vec<u8>) -> bool> {
    buf: Vec<u8>,
    pos: usize,
    more: F,
    done: bool,
    pub produced: u64,
}

impl<F: FnMut(&mut Vec<u8>) -> bool> Synth<F> {
    pub fn new(first: Vec<u8>, more: F) -> Self {
        Synth {
            buf: first,
            pos: 0,
            more,
            done: false,
            produced: 0,
        }
    }
}

impl<F: FnMut(&mut Vec<u8>) -> bool> Read for Synth<F> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.done {
                return Ok(0);
            }
            self.buf.clear();
            self.pos = 0;
            if !(self.more)(&mut self.buf) {
                self.done = true;
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        self.produced += n as u64;
        Ok(n)
    }
}

/// A client/server TCP conversation written as pcap records: handshake, then whatever the
/// caller sends, with sequence numbers and timestamps kept.
pub struct Conv {
    pub client: Ep,
    pub server: Ep,
    pub cseq: u32,
    pub sseq: u32,
    pub ts_us: u64,
}

impl Conv {
    pub fn new(client: Ep, server: Ep) -> Self {
        Conv {
            client,
            server,
            cseq: 1000,
            sseq: 9000,
            ts_us: 1_700_000_000_000_000,
        }
    }

    pub fn handshake(&mut self, out: &mut Vec<u8>) {
        let (c, s) = (self.client, self.server);
        self.tick();
        record(out, self.ts_us, c, s, self.cseq, 0, SYN, 0, |_| {});
        self.cseq = self.cseq.wrapping_add(1);
        self.tick();
        record(
            out,
            self.ts_us,
            s,
            c,
            self.sseq,
            self.cseq,
            SYN | ACK,
            0,
            |_| {},
        );
        self.sseq = self.sseq.wrapping_add(1);
        self.tick();
        record(out, self.ts_us, c, s, self.cseq, self.sseq, ACK, 0, |_| {});
    }

    fn tick(&mut self) {
        self.ts_us += 10;
    }

    /// One segment from the client (`from_client`) or the server, `len` bytes written by `fill`.
    pub fn send(
        &mut self,
        out: &mut Vec<u8>,
        from_client: bool,
        len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) {
        self.tick();
        let (src, dst, seq, ack) = if from_client {
            (self.client, self.server, self.cseq, self.sseq)
        } else {
            (self.server, self.client, self.sseq, self.cseq)
        };
        record(out, self.ts_us, src, dst, seq, ack, PSH | ACK, len, fill);
        if from_client {
            self.cseq = self.cseq.wrapping_add(len as u32);
        } else {
            self.sseq = self.sseq.wrapping_add(len as u32);
        }
    }

    /// Sends `data` in segments of at most `mss` bytes.
    pub fn send_all(&mut self, out: &mut Vec<u8>, from_client: bool, data: &[u8], mss: usize) {
        for c in data.chunks(mss) {
            self.send(out, from_client, c.len(), |b| b.copy_from_slice(c));
        }
    }

    pub fn fins(&mut self, out: &mut Vec<u8>) {
        let (c, s) = (self.client, self.server);
        self.tick();
        record(
            out,
            self.ts_us,
            c,
            s,
            self.cseq,
            self.sseq,
            FIN | ACK,
            0,
            |_| {},
        );
        self.cseq = self.cseq.wrapping_add(1);
        self.tick();
        record(
            out,
            self.ts_us,
            s,
            c,
            self.sseq,
            self.cseq,
            FIN | ACK,
            0,
            |_| {},
        );
        self.sseq = self.sseq.wrapping_add(1);
    }
}
