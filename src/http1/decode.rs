//! Message bodies as they stream in: fed de-chunked body bytes by `http1::side`, undoes the
//! Content-Encoding (gzip, deflate as zlib or raw, br, zstd) with streaming decoders, and keeps a
//! bounded prefix as the `model::Body`. Decoding stops at `BodyLimits::max_decoded` bytes of
//! output, so a compression bomb costs at most that much work.

use std::io::{self, Write};

use crate::model::{Anomaly, Body, BodyLimits};

/// Output side of a decoder: keeps the first `max_kept` bytes, counts the rest, and refuses
/// more than `max_decoded` bytes in all.
#[derive(Debug, Default)]
struct Keep {
    kept: Vec<u8>,
    max_kept: usize,
    produced: u64,
    max_decoded: u64,
    limit_hit: bool,
}

impl Write for Keep {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.max_decoded.saturating_sub(self.produced);
        if room == 0 && !buf.is_empty() {
            self.limit_hit = true;
            return Err(io::Error::other("decode limit"));
        }
        let n = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let keep = n.min(self.max_kept.saturating_sub(self.kept.len()));
        self.kept.extend_from_slice(&buf[..keep]);
        self.produced += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Coding {
    Identity,
    Gzip(Box<flate2::write::MultiGzDecoder<Keep>>),
    Zlib(Box<flate2::write::ZlibDecoder<Keep>>),
    Deflate(Box<flate2::write::DeflateDecoder<Keep>>),
    Brotli(Box<brotli::DecompressorWriter<Keep>>),
    Zstd(Box<zstd::stream::write::Decoder<'static, Keep>>),
    /// `deflate` before its first two bytes told zlib from raw deflate.
    DeflatePending(Vec<u8>),
    /// Decoding failed or is impossible: bytes are only counted from here.
    Stopped,
}

/// One body being received.
pub struct BodyAcc {
    limits: BodyLimits,
    coding: Coding,
    /// Where output goes when there is no decoder (identity) or after a decoder stopped.
    keep: Keep,
    content_type: Option<String>,
    wire_len: u64,
    anomalies: Vec<Anomaly>,
    /// Bytes are missing from the body (gap, connection closed early).
    incomplete: bool,
}

/// The output of a finished body.
#[derive(Debug)]
pub struct Finished {
    pub body: Body,
    pub anomalies: Vec<Anomaly>,
}

impl BodyAcc {
    /// `encoding` is the Content-Encoding header value, if any.
    pub fn new(limits: BodyLimits, content_type: Option<String>, encoding: Option<&str>) -> Self {
        // Identity bodies are only counted past the kept prefix; the decode limit is for
        // decoders.
        let keep = Keep {
            max_kept: limits.max_kept,
            max_decoded: u64::MAX,
            ..Keep::default()
        };
        let mut anomalies = Vec::new();
        let coding = match encoding.map(coding_name) {
            None => Coding::Identity,
            Some(Ok(name)) => match name {
                "identity" | "" => Coding::Identity,
                "gzip" | "x-gzip" => {
                    Coding::Gzip(Box::new(flate2::write::MultiGzDecoder::new(fresh(limits))))
                }
                "deflate" => Coding::DeflatePending(Vec::new()),
                "br" => Coding::Brotli(Box::new(brotli::DecompressorWriter::new(
                    fresh(limits),
                    4096,
                ))),
                "zstd" => match zstd::stream::write::Decoder::new(fresh(limits)) {
                    Ok(mut d) => {
                        // Bound the window a hostile frame header can demand (2^23 = 8 MiB).
                        if d.window_log_max(23).is_err() {
                            anomalies.push(Anomaly::DecodeError);
                            Coding::Stopped
                        } else {
                            Coding::Zstd(Box::new(d))
                        }
                    }
                    Err(_) => {
                        anomalies.push(Anomaly::DecodeError);
                        Coding::Stopped
                    }
                },
                _ => {
                    // An encoding we cannot undo (compress, sdch...): keep the raw bytes.
                    anomalies.push(Anomaly::DecodeError);
                    Coding::Identity
                }
            },
            Some(Err(())) => {
                // Several stacked codings: keep the raw bytes rather than guess.
                anomalies.push(Anomaly::DecodeError);
                Coding::Identity
            }
        };
        BodyAcc {
            limits,
            coding,
            keep,
            content_type,
            wire_len: 0,
            anomalies,
            incomplete: false,
        }
    }

    /// The body is announced as `len` bytes on the wire (Content-Length): an identity body's
    /// kept prefix is allocated once instead of growing by doubling.
    pub fn expect(&mut self, len: u64) {
        if matches!(self.coding, Coding::Identity) {
            let want = usize::try_from(len)
                .unwrap_or(usize::MAX)
                .min(self.keep.max_kept);
            self.keep
                .kept
                .reserve_exact(want.saturating_sub(self.keep.kept.len()));
        }
    }

    /// Body bytes as they came off the wire (after de-chunking).
    pub fn push(&mut self, data: &[u8]) {
        self.wire_len += data.len() as u64;
        if data.is_empty() {
            return;
        }
        let res = match &mut self.coding {
            Coding::Identity => self.keep.write_all(data),
            Coding::Stopped => Ok(()),
            Coding::Gzip(d) => d.write_all(data),
            Coding::Zlib(d) => d.write_all(data),
            Coding::Deflate(d) => d.write_all(data),
            Coding::Brotli(d) => d.write_all(data),
            Coding::Zstd(d) => d.write_all(data),
            Coding::DeflatePending(buf) => {
                buf.extend_from_slice(data);
                if buf.len() < 2 {
                    return;
                }
                let buf = std::mem::take(buf);
                // A zlib header: CM = 8 and the 16-bit header a multiple of 31.
                let zlib =
                    buf[0] & 0x0f == 8 && (u16::from(buf[0]) << 8 | u16::from(buf[1])) % 31 == 0;
                let keep = fresh(self.limits);
                self.coding = if zlib {
                    Coding::Zlib(Box::new(flate2::write::ZlibDecoder::new(keep)))
                } else {
                    Coding::Deflate(Box::new(flate2::write::DeflateDecoder::new(keep)))
                };
                self.wire_len -= buf.len() as u64;
                return self.push(&buf);
            }
        };
        if let Err(_e) = res {
            self.stop();
        }
    }

    /// Bytes of the body were lost: what follows cannot be decoded.
    pub fn gap(&mut self, len: u64) {
        self.wire_len += len;
        self.incomplete = true;
        if !matches!(self.coding, Coding::Identity | Coding::Stopped) {
            self.take_output();
            self.coding = Coding::Stopped;
        }
    }

    /// The body ended before its declared length.
    pub fn mark_incomplete(&mut self) {
        self.incomplete = true;
    }

    fn decoder_output(&mut self) -> Option<&mut Keep> {
        match &mut self.coding {
            Coding::Gzip(d) => Some(d.get_mut()),
            Coding::Zlib(d) => Some(d.get_mut()),
            Coding::Deflate(d) => Some(d.get_mut()),
            Coding::Brotli(d) => Some(d.get_mut()),
            Coding::Zstd(d) => Some(d.get_mut()),
            _ => None,
        }
    }

    /// Moves what a decoder produced into `self.keep`.
    fn take_output(&mut self) {
        if let Some(k) = self.decoder_output() {
            let k = std::mem::take(k);
            self.keep.kept = k.kept;
            self.keep.produced = k.produced;
            self.keep.limit_hit = k.limit_hit;
        }
    }

    fn stop(&mut self) {
        self.take_output();
        if matches!(self.coding, Coding::Identity) {
            // Identity output only fails at the decode limit.
            self.keep.limit_hit = true;
        } else if !self.keep.limit_hit && !self.incomplete {
            self.anomalies.push(Anomaly::DecodeError);
        }
        self.coding = Coding::Stopped;
    }

    pub fn finish(mut self) -> Finished {
        let flushed = match &mut self.coding {
            Coding::Gzip(d) => d.try_finish(),
            Coding::Zlib(d) => d.try_finish(),
            Coding::Deflate(d) => d.try_finish(),
            Coding::Brotli(d) => d.flush(),
            Coding::Zstd(d) => d.flush(),
            Coding::DeflatePending(buf) => {
                // One byte of deflate is never a whole stream.
                if !buf.is_empty() {
                    self.anomalies.push(Anomaly::DecodeError);
                }
                Ok(())
            }
            Coding::Identity | Coding::Stopped => Ok(()),
        };
        let decoding = !matches!(
            self.coding,
            Coding::Identity | Coding::Stopped | Coding::DeflatePending(_)
        );
        if flushed.is_err() && decoding {
            self.take_output();
            if !self.keep.limit_hit && !self.incomplete {
                self.anomalies.push(Anomaly::DecodeError);
            }
        } else {
            self.take_output();
        }
        let mut anomalies = self.anomalies;
        let k = self.keep;
        if k.limit_hit {
            anomalies.push(Anomaly::DecodeLimit);
        }
        let over_kept = k.produced > k.kept.len() as u64;
        if over_kept && !k.limit_hit {
            anomalies.push(Anomaly::BodyTruncated);
        }
        Finished {
            body: Body {
                bytes: k.kept,
                content_type: self.content_type,
                wire_len: self.wire_len,
                truncated: over_kept || k.limit_hit || self.incomplete,
            },
            anomalies,
        }
    }
}

fn fresh(l: BodyLimits) -> Keep {
    Keep {
        max_kept: l.max_kept,
        max_decoded: l.max_decoded as u64,
        ..Keep::default()
    }
}

/// The single coding named by a Content-Encoding value (`identity` entries ignored), or an error
/// for a stack of several real codings.
fn coding_name(v: &str) -> Result<&'static str, ()> {
    let mut found: Option<&'static str> = None;
    for part in v.split(',') {
        let p = part.trim().to_ascii_lowercase();
        let name = match p.as_str() {
            "" | "identity" => continue,
            "gzip" | "x-gzip" => "gzip",
            "deflate" => "deflate",
            "br" => "br",
            "zstd" => "zstd",
            _ => "unknown",
        };
        if found.is_some() {
            return Err(());
        }
        found = Some(name);
    }
    Ok(found.unwrap_or("identity"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn limits(kept: usize, decoded: usize) -> BodyLimits {
        BodyLimits {
            max_kept: kept,
            max_decoded: decoded,
        }
    }

    fn run(enc: Option<&str>, wire: &[u8], l: BodyLimits, piece: usize) -> Finished {
        let mut b = BodyAcc::new(l, Some("text/plain".into()), enc);
        for c in wire.chunks(piece.max(1)) {
            b.push(c);
        }
        b.finish()
    }

    #[test]
    fn gzip_deflate_zlib_br_zstd_roundtrip() {
        let plain = b"hello hello hello credsift".repeat(20);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&plain).unwrap();
        let gz = gz.finish().unwrap();
        let mut zl = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zl.write_all(&plain).unwrap();
        let zl = zl.finish().unwrap();
        let mut raw =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(&plain).unwrap();
        let raw = raw.finish().unwrap();
        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
            w.write_all(&plain).unwrap();
        }
        let zs = zstd::encode_all(&plain[..], 3).unwrap();
        for (enc, wire) in [
            ("gzip", &gz),
            ("deflate", &zl),
            ("deflate", &raw),
            ("br", &br),
            ("zstd", &zs),
        ] {
            for piece in [1, 7, 4096] {
                let f = run(Some(enc), wire, BodyLimits::default(), piece);
                assert_eq!(f.body.bytes, plain, "{enc} piece {piece}");
                assert!(f.anomalies.is_empty(), "{enc}: {:?}", f.anomalies);
                assert_eq!(f.body.wire_len, wire.len() as u64);
                assert!(!f.body.truncated);
            }
        }
    }

    #[test]
    fn bomb_stops_at_decode_limit() {
        let plain = vec![0u8; 1 << 20];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&plain).unwrap();
        let gz = gz.finish().unwrap();
        let f = run(Some("gzip"), &gz, limits(100, 4096), 512);
        assert_eq!(f.body.bytes.len(), 100);
        assert!(f.body.truncated);
        assert!(f.anomalies.contains(&Anomaly::DecodeLimit));
    }

    #[test]
    fn kept_limit_truncates_identity() {
        let f = run(None, &[b'a'; 50], limits(10, 1000), 3);
        assert_eq!(f.body.bytes, vec![b'a'; 10]);
        assert!(f.body.truncated);
        assert_eq!(f.anomalies, vec![Anomaly::BodyTruncated]);
        assert_eq!(f.body.wire_len, 50);
    }

    #[test]
    fn corrupt_gzip_is_a_decode_error() {
        let f = run(
            Some("gzip"),
            b"\x1f\x8b\x08\x00garbage-garbage",
            BodyLimits::default(),
            4,
        );
        assert!(f.anomalies.contains(&Anomaly::DecodeError));
        let u = run(Some("compress"), b"raw", BodyLimits::default(), 4);
        assert_eq!(u.body.bytes, b"raw");
        assert!(u.anomalies.contains(&Anomaly::DecodeError));
    }
}
