//! Criterion benches, one per pipeline stage, on traffic from the project's generator
//! (`credsift::gen::bench`, seed 42): pcap decode (frames → TCP segments), reassembly (segments
//! → in-order streams), HTTP parse (streams → exchanges), recognition, per-exchange and
//! correlation rules, and report building. Throughput is in capture bytes where that is what a
//! stage consumes, else in exchanges. Run with `cargo bench --bench stages`; `benches/run.sh` is
//! the end-to-end benchmark.

use std::hint::black_box;
use std::io::Cursor;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError};

use credsift::analyze::sighting::{groups, par_sort_sightings};
use credsift::analyze::{self, CorrelationCtx, ExchangeCtx};
use credsift::config::{OutputFormat, ReportKind, ScanConfig};
use credsift::engine::{Engine, ScanResult, SourceResult};
use credsift::r#gen::bench::{BenchConfig, BenchFormat, generate};
use credsift::http1::Http1Handler;
use credsift::ingest::IngestConfig;
use credsift::ingest::pcap::decode::{Decoded, Decoder, LinkKind, OwnedSegment};
use credsift::model::{Anomaly, Exchange, SourceStats};
use credsift::reassembly::{
    ConnInfo, Meta, ReasmConfig, Reassembler, Segment, StreamHandler, Verdict,
};
use credsift::recognize::keywords::Scan;
use credsift::report::{self, ReportOptions};

/// Capture size for the byte-oriented stages: big enough for many interleaved connections,
/// small enough for criterion's repetitions.
const CAPTURE: u64 = 8 << 20;

fn capture() -> Vec<u8> {
    let mut bytes = Vec::new();
    generate(
        BenchConfig {
            size: CAPTURE,
            seed: 42,
            format: BenchFormat::Pcap,
        },
        &mut bytes,
    )
    .expect("generate");
    bytes
}

/// Every Ethernet frame of a classic pcap with its capture time.
fn frames(pcap: &[u8]) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut r = LegacyPcapReader::new(1 << 20, Cursor::new(pcap)).expect("pcap header");
    loop {
        match r.next() {
            Ok((n, block)) => {
                if let PcapBlockOwned::Legacy(b) = block {
                    let ts = i64::from(b.ts_sec) * 1_000_000_000 + i64::from(b.ts_usec) * 1_000;
                    out.push((ts, b.data.to_vec()));
                }
                r.consume(n);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if r.refill().is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    out
}

/// A segment with its payload owned, for feeding reassembly again and again.
struct OwnedSeg {
    seg: OwnedSegment,
    meta: Meta,
}

impl OwnedSeg {
    fn segment(&self) -> Segment<'_> {
        self.seg.segment()
    }
}

fn segments(frames: &[(i64, Vec<u8>)]) -> Vec<OwnedSeg> {
    let mut d = Decoder::new(10_000);
    let mut out = Vec::new();
    for (i, (ts, f)) in frames.iter().enumerate() {
        if let Decoded::Tcp(s) = d.decode(LinkKind::Ethernet, f, *ts) {
            out.push(OwnedSeg {
                seg: OwnedSegment::copy_of(&s),
                meta: Meta {
                    frame: i as u64 + 1,
                    ts: *ts,
                },
            });
        }
    }
    out
}

/// Consumes streams and only counts their bytes: reassembly alone.
struct Count(u64);

impl StreamHandler for Count {
    type State = ();
    fn open(&mut self, _: &ConnInfo, _: Meta) {}
    fn data(&mut self, _: &mut (), _: &ConnInfo, _: usize, d: &[u8], _: Meta) -> Verdict {
        self.0 += d.len() as u64;
        Verdict::Continue
    }
    fn gap(&mut self, _: &mut (), _: &ConnInfo, _: usize, _: u64, _: Meta) -> Verdict {
        Verdict::Continue
    }
    fn anomaly(&mut self, _: &mut (), _: &ConnInfo, _: usize, _: Anomaly) {}
    fn end(&mut self, _: &mut (), _: &ConnInfo, _: usize, _: Meta) {}
    fn close(&mut self, _: (), _: &ConnInfo, _: Meta) {}
}

fn exchanges(segs: &[OwnedSeg], cfg: &IngestConfig) -> Vec<Exchange> {
    let mut out = Vec::new();
    let mut stats = SourceStats::default();
    let mut sink = |e: Exchange| out.push(e);
    {
        let mut h = Http1Handler::new(Arc::from("bench.pcap"), cfg, &mut stats, &mut sink);
        let mut r = Reassembler::new(ReasmConfig::from(cfg));
        for s in segs {
            r.segment(&s.segment(), s.meta, &mut h);
        }
        r.finish_all(&mut h);
    }
    out
}

fn scan_config() -> ScanConfig {
    ScanConfig {
        salt: Some(b"bench".to_vec()),
        threads: Some(1),
        reports: vec![ReportKind::Findings],
        format: OutputFormat::Ndjson,
        quiet: true,
        ..ScanConfig::default()
    }
}

/// 128 texts of 64 KiB of the generator's body words (which hold no keyword), or with a
/// credential-like phrase every ~450 bytes.
fn prefilter_texts(keywords: bool) -> Vec<Vec<u8>> {
    const WORDS: [&str; 8] = [
        "order",
        "status",
        "shipped",
        "invoice",
        "customer",
        "quantity",
        "warehouse",
        "delivery",
    ];
    let mut x = 42u64;
    (0..128)
        .map(|_| {
            let mut t = Vec::with_capacity(64 << 10);
            while t.len() < 64 << 10 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let w = if keywords && (x >> 40).is_multiple_of(50) {
                    "token=sk_live_abc password"
                } else {
                    WORDS[(x >> 33) as usize % WORDS.len()]
                };
                t.extend_from_slice(w.as_bytes());
                t.push(b' ');
            }
            t
        })
        .collect()
}

fn stages(c: &mut Criterion) {
    let pcap = capture();
    let frames = frames(&pcap);
    let segs = segments(&frames);
    let cfg = IngestConfig::default();
    let exs = exchanges(&segs, &cfg);
    let engine = Engine::new(&scan_config()).expect("engine");
    let bytes = pcap.len() as u64;

    let mut g = c.benchmark_group("stages");
    g.sample_size(10);

    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("pcap_decode", |b| {
        b.iter(|| {
            let mut d = Decoder::new(10_000);
            let mut n = 0usize;
            for (ts, f) in &frames {
                if let Decoded::Tcp(s) = d.decode(LinkKind::Ethernet, f, *ts) {
                    n += s.payload.len();
                }
            }
            black_box(n)
        })
    });
    g.bench_function("reassembly", |b| {
        b.iter(|| {
            let mut h = Count(0);
            let mut r = Reassembler::new(ReasmConfig::from(&cfg));
            for s in &segs {
                r.segment(&s.segment(), s.meta, &mut h);
            }
            r.finish_all(&mut h);
            black_box(h.0)
        })
    });
    g.bench_function("reassembly_and_http_parse", |b| {
        b.iter(|| black_box(exchanges(&segs, &cfg).len()))
    });

    g.throughput(Throughput::Elements(exs.len() as u64));
    g.bench_function("recognition", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for e in &exs {
                n += engine.recognizer.recognize(e).request.len();
            }
            black_box(n)
        })
    });
    // The keyword prefilter alone, over 64 KiB texts like the generator's bodies, without and
    // with a keyword phrase every ~450 bytes: the wide scan (where the CPU has AVX-512 VBMI;
    // the slice scan elsewhere) and the slice scan. `scan` runs the faster of the two
    // on this CPU, measured on the first long text.
    if let Some(sc) = engine.recognizer.keyword_scanner() {
        for (name, texts) in [
            ("plain", prefilter_texts(false)),
            ("keywords", prefilter_texts(true)),
        ] {
            let len: usize = texts.iter().map(Vec::len).sum();
            g.throughput(Throughput::Bytes(len as u64));
            for (suffix, kind) in [("", Scan::Wide), ("_slices", Scan::Slices)] {
                g.bench_function(format!("prefilter_{name}{suffix}"), |b| {
                    b.iter(|| {
                        let mut n = 0usize;
                        let mut count = |_, _| {
                            n += 1;
                            true
                        };
                        for t in &texts {
                            sc.scan_as(kind, t, &mut count);
                        }
                        black_box(n)
                    })
                });
            }
        }
        g.throughput(Throughput::Elements(exs.len() as u64));
    }
    let recs: Vec<_> = exs.iter().map(|e| engine.recognizer.recognize(e)).collect();
    g.bench_function("exchange_rules", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            for (e, r) in exs.iter().zip(&recs) {
                let cx = ExchangeCtx {
                    ex: e,
                    rec: r,
                    cfg: &engine.analyze,
                };
                analyze::check_exchange(&engine.exchange_rules, &cx, &mut out);
            }
            black_box(analyze::aggregate(out).len())
        })
    });
    let sightings: Vec<_> = exs
        .iter()
        .zip(&recs)
        .enumerate()
        .flat_map(|(i, (e, r))| analyze::sighting::sightings_of(e, r, i as u64))
        .collect();
    g.bench_function("correlation_rules", |b| {
        b.iter(|| {
            let mut sorted = sightings.clone();
            let cx = CorrelationCtx::of(&sorted);
            par_sort_sightings(&mut sorted);
            let groups = groups(&sorted);
            let mut out = Vec::new();
            for r in &engine.correlation_rules {
                r.check(&cx, &groups, &mut out);
            }
            black_box(out.len())
        })
    });

    // Reports from a whole scan result of the capture.
    let result = {
        let mut per = SourceResult::default();
        let mut out = Vec::new();
        for (i, (e, r)) in exs.iter().zip(&recs).enumerate() {
            let cx = ExchangeCtx {
                ex: e,
                rec: r,
                cfg: &engine.analyze,
            };
            analyze::check_exchange(&engine.exchange_rules, &cx, &mut out);
            per.sightings
                .extend(analyze::sighting::sightings_of(e, r, i as u64));
        }
        per.findings = analyze::aggregate(out).into();
        per.stats = SourceStats::new("bench.pcap");
        engine.finish(vec![per]).expect("finish")
    };
    g.throughput(Throughput::Elements(result.findings.len() as u64));
    for (name, format, reports) in [
        (
            "report_ndjson",
            OutputFormat::Ndjson,
            vec![ReportKind::Findings],
        ),
        (
            "report_json_all",
            OutputFormat::Json,
            vec![
                ReportKind::Findings,
                ReportKind::Summary,
                ReportKind::Keys,
                ReportKind::Sources,
            ],
        ),
    ] {
        let opts = ReportOptions {
            reports,
            format,
            output: None,
            reveal: false,
            color: false,
            terminal: false,
            summary_after_table: false,
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut sink = Vec::new();
                report::write_reports(&result, &opts, &mut sink).expect("report");
                black_box(sink.len())
            })
        });
    }
    let _: &ScanResult = &result;
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
