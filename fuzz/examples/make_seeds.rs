//! Writes the seed corpora under `fuzz/seeds/<target>/` from the committed `samples/`:
//! `cargo run --example make_seeds` from `fuzz/` (deterministic; rerun when samples change).
//! Captures and HARs seed the byte-level readers as they are; their frames seed `decode`
//! (in its link-selector + length-prefixed format) and their reassembled TCP streams seed
//! `http1` (in its record format, in the order reassembly delivered them).

use std::fs;
use std::path::{Path, PathBuf};

use credsift::ingest::pcap::decode::{Decoded, Decoder, LinkKind};
use credsift::model::Anomaly;
use credsift::reassembly::{ConnInfo, Meta, ReasmConfig, Reassembler, StreamHandler, Verdict};

const LINKS: &[i32] = &[
    1, 113, 276, 101, 228, 229, 0, 108, 239, 104, 127, 105, 129, 147,
];

/// Frames of a classic pcap (either byte order), with its link type.
fn classic_frames(b: &[u8]) -> Option<(i32, Vec<&[u8]>)> {
    let magic = b.get(0..4)?;
    let be = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => false,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => true,
        _ => return None,
    };
    let u32_at = |o: usize| -> Option<u32> {
        let x: [u8; 4] = b.get(o..o + 4)?.try_into().ok()?;
        Some(if be {
            u32::from_be_bytes(x)
        } else {
            u32::from_le_bytes(x)
        })
    };
    let link = u32_at(20)? as i32;
    let mut frames = Vec::new();
    let mut off = 24;
    while let Some(caplen) = u32_at(off + 8) {
        let start = off + 16;
        let Some(f) = b.get(start..start + caplen as usize) else {
            break;
        };
        frames.push(f);
        off = start + caplen as usize;
    }
    Some((link, frames))
}

/// Records reassembled streams in the `http1` harness's record format.
#[derive(Default)]
struct Recorder {
    done: Vec<Vec<u8>>,
}

fn record(out: &mut Vec<u8>, dir: usize, op: u8, len: usize, data: &[u8]) {
    out.push(dir as u8 | (op << 1));
    out.extend_from_slice(&(len.min(65535) as u16).to_le_bytes());
    out.extend_from_slice(data);
}

impl StreamHandler for Recorder {
    type State = Vec<u8>;
    fn open(&mut self, _: &ConnInfo, _: Meta) -> Vec<u8> {
        Vec::new()
    }
    fn data(&mut self, st: &mut Vec<u8>, _: &ConnInfo, d: usize, data: &[u8], _: Meta) -> Verdict {
        for c in data.chunks(65535) {
            record(st, d, 0, c.len(), c);
        }
        Verdict::Continue
    }
    fn gap(&mut self, st: &mut Vec<u8>, _: &ConnInfo, d: usize, len: u64, _: Meta) -> Verdict {
        record(st, d, 1, (len.saturating_sub(1)) as usize, &[]);
        Verdict::Continue
    }
    fn anomaly(&mut self, _: &mut Vec<u8>, _: &ConnInfo, _: usize, _: Anomaly) {}
    fn end(&mut self, st: &mut Vec<u8>, _: &ConnInfo, d: usize, _: Meta) {
        record(st, d, 2, 0, &[]);
    }
    fn close(&mut self, st: Vec<u8>, _: &ConnInfo, _: Meta) {
        if st.len() > 8 {
            self.done.push(st);
        }
    }
}

fn put(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("seed directory");
    fs::write(dir.join(name), bytes).expect("seed file");
}

fn main() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let samples = fuzz.join("../samples");
    let seeds = fuzz.join("seeds");
    let _ = fs::remove_dir_all(&seeds);
    let mut names: Vec<PathBuf> = fs::read_dir(&samples)
        .expect("samples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    names.sort();
    let mut http_seeds = 0;
    for p in names {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let bytes = fs::read(&p).expect("sample");
        let capture = name.ends_with(".pcap") || name.ends_with(".pcapng");
        if name.ends_with(".har") {
            put(&seeds.join("har"), &name, &bytes);
            put(&seeds.join("scan"), &name, &bytes);
        }
        if !capture {
            continue;
        }
        put(&seeds.join("pcap"), &name, &bytes);
        put(&seeds.join("scan"), &name, &bytes);
        let Some((link, frames)) = classic_frames(&bytes) else {
            continue;
        };
        let Some(sel) = LINKS.iter().position(|l| *l == link) else {
            continue;
        };
        let mut d = vec![sel as u8];
        for f in &frames {
            d.extend_from_slice(&(f.len() as u16).to_le_bytes());
            d.extend_from_slice(f);
        }
        put(&seeds.join("decode"), &format!("{name}.frames"), &d);

        let mut dec = Decoder::new(64);
        let mut rec = Recorder::default();
        let mut r = Reassembler::new(ReasmConfig {
            max_connections: 1000,
            max_ooo_bytes_per_flow: 1 << 20,
            max_ooo_bytes_total: 1 << 22,
            idle_timeout_ns: i64::MAX / 4,
        });
        for (i, f) in frames.iter().enumerate() {
            let meta = Meta {
                frame: i as u64 + 1,
                ts: i as i64,
            };
            match dec.decode(LinkKind::from_linktype(link), f, i as i64) {
                Decoded::Tcp(s) => r.segment(&s, meta, &mut rec),
                Decoded::Owned(v) => v
                    .iter()
                    .for_each(|o| r.segment(&o.segment(), meta, &mut rec)),
                Decoded::Other => {}
            }
        }
        r.finish_all(&mut rec);
        for (i, s) in rec.done.iter().enumerate().take(4) {
            put(&seeds.join("http1"), &format!("{name}.{i}.records"), s);
            http_seeds += 1;
        }
    }
    // A gzip-wrapped capture for the scan target's wrapper path.
    if let Ok(b) = fs::read(samples.join("rules-jwt.pcap")) {
        let mut v = b"GZ:".to_vec();
        v.extend_from_slice(&b);
        put(&seeds.join("scan"), "GZ-rules-jwt.pcap", &v);
    }
    let sc = seeds.join("setcookie");
    for (i, l) in [
        "sid=abc123; Path=/; HttpOnly; Secure; SameSite=Lax",
        "token=x; Domain=.example.com; Max-Age=31536000; Expires=Wed, 21 Oct 2099 07:28:00 GMT",
        "=nameless; SameSite=Bogus; Partitioned",
        "__Host-a=b; Max-Age=-1",
    ]
    .iter()
    .enumerate()
    {
        put(&sc, &format!("line{i}"), l.as_bytes());
    }
    let jw = seeds.join("jwt");
    put(&jw, "split-hs256", b"{\"alg\":\"HS256\",\"typ\":\"JWT\"}\xff{\"sub\":\"u1\",\"exp\":1700000000,\"roles\":[\"admin\",\"user\"],\"realm_access\":{\"roles\":[\"x\"]}}\xffsig");
    put(
        &jw,
        "split-none",
        b"{\"alg\":\"none\"}\xff{\"sub\":42,\"iat\":1.5e9,\"scope\":\"a b c\"}\xff",
    );
    put(&jw, "token", b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln");
    eprintln!("seeds written; {http_seeds} http1 stream seeds");
}
