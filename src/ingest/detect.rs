//! Format detection by magic bytes, through gzip/zstd wrappers: decides which reader in `ingest`
//! gets a file. The file name is never consulted.

use std::io::{BufRead, BufReader, Read};

/// What an input holds, after unwrapping compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcap,
    PcapNg,
    Har,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pcap => "pcap",
            Format::PcapNg => "pcapng",
            Format::Har => "har",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Classic pcap magics as they appear in the first four bytes of the file, both byte orders:
/// microsecond, nanosecond, and the modified (Kuznetzov) variant.
const PCAP_MAGICS: [[u8; 4]; 6] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x34, 0xcd, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xcd, 0x34],
];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

pub fn compression_of(head: &[u8]) -> Compression {
    if head.starts_with(&GZIP_MAGIC) {
        Compression::Gzip
    } else if head.starts_with(&ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// The format of uncompressed bytes from their first bytes, or `None`.
pub fn format_of(head: &[u8]) -> Option<Format> {
    if head.len() >= 4 {
        let m = [head[0], head[1], head[2], head[3]];
        if PCAP_MAGICS.contains(&m) {
            return Some(Format::Pcap);
        }
        if m == PCAPNG_MAGIC {
            return Some(Format::PcapNg);
        }
    }
    looks_like_har(head).then_some(Format::Har)
}

/// A HAR is JSON (possibly after a UTF-8 BOM and whitespace) starting with `{`, or JSONP: an
/// identifier followed by `(` and then `{`.
fn looks_like_har(head: &[u8]) -> bool {
    let s = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let s = trim_ascii_start(s);
    if s.first() == Some(&b'{') {
        return true;
    }
    let ident_len = s
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.'))
        .count();
    if ident_len == 0 {
        return false;
    }
    let rest = trim_ascii_start(&s[ident_len..]);
    rest.first() == Some(&b'(') && trim_ascii_start(&rest[1..]).first() == Some(&b'{')
}

fn trim_ascii_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &s[n..]
}

/// An opened input: its format, the compression it was wrapped in, and a buffered reader over the
/// uncompressed bytes positioned at their start.
pub struct Opened {
    pub format: Format,
    pub compression: Compression,
    pub reader: Box<dyn BufRead + Send>,
}

impl Opened {
    /// `pcap`, `pcapng+gzip`, `har+zstd`...
    pub fn format_label(&self) -> String {
        match self.compression {
            Compression::None => self.format.as_str().to_string(),
            Compression::Gzip => format!("{}+gzip", self.format.as_str()),
            Compression::Zstd => format!("{}+zstd", self.format.as_str()),
        }
    }
}

/// Read buffer size (sequential reads were measured faster than mmap on this class of machine).
/// Captures are read past it, straight into the capture reader's larger buffer; it serves the
/// compressed inputs' decoders and the format sniffing.
pub const READ_BUF: usize = 64 << 10;

/// Bytes peeked to tell the format (HAR may start with a BOM, whitespace or a JSONP callback).
const HEAD_LEN: u64 = 512;

/// Detects the format of `input` and returns a reader over its uncompressed bytes.
/// `Err(head)` carries a printable sample of the first bytes for the "unknown format" warning.
pub fn open(input: Box<dyn Read + Send>) -> std::io::Result<Result<Opened, String>> {
    let mut outer = BufReader::with_capacity(READ_BUF, input);
    let compression = compression_of(outer.fill_buf()?);
    let mut inner: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(outer),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(outer)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(outer)?),
    };
    // A decoder may hand out its first bytes in small pieces: read the head fully, then put it
    // back in front of the rest.
    let mut head = Vec::with_capacity(HEAD_LEN as usize);
    (&mut inner).take(HEAD_LEN).read_to_end(&mut head)?;
    let Some(format) = format_of(&head) else {
        return Ok(Err(describe_head(&head)));
    };
    let reader: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(
        READ_BUF,
        std::io::Cursor::new(head).chain(inner),
    ));
    Ok(Ok(Opened {
        format,
        compression,
        reader,
    }))
}

/// A short, safe description of unrecognised leading bytes: the first 4 in hex, as many as a
/// magic number has and no more than a masked credential shows of itself (never the content
/// as text: a file may start with a secret).
fn describe_head(head: &[u8]) -> String {
    match head.get(..4).unwrap_or(head) {
        [] => "empty file".to_string(),
        first => hex::encode(first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn an_unknown_head_shows_four_bytes_at_most() {
        assert_eq!(
            describe_head(b"sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
            "736b5f6c"
        );
        assert_eq!(describe_head(b"ab"), "6162");
        assert_eq!(describe_head(b""), "empty file");
    }

    #[test]
    fn magics() {
        assert_eq!(format_of(&[0xd4, 0xc3, 0xb2, 0xa1, 0]), Some(Format::Pcap));
        assert_eq!(format_of(&[0xa1, 0xb2, 0x3c, 0x4d]), Some(Format::Pcap));
        assert_eq!(format_of(&PCAPNG_MAGIC), Some(Format::PcapNg));
        assert_eq!(format_of(b"\xEF\xBB\xBF  {\"log\":{}}"), Some(Format::Har));
        assert_eq!(format_of(b"onInputData({\"log\""), Some(Format::Har));
        assert_eq!(format_of(b"hello world"), None);
        assert_eq!(format_of(b""), None);
    }

    #[test]
    fn opens_through_gzip_and_zstd() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&PCAPNG_MAGIC).unwrap();
        let gz = gz.finish().unwrap();
        let o = open(Box::new(std::io::Cursor::new(gz))).unwrap().unwrap();
        assert_eq!(o.format_label(), "pcapng+gzip");
        let z = zstd::encode_all(&b"{\"log\":{}}"[..], 1).unwrap();
        let o = open(Box::new(std::io::Cursor::new(z))).unwrap().unwrap();
        assert_eq!(o.format_label(), "har+zstd");
        let e = open(Box::new(std::io::Cursor::new(b"GIF89a".to_vec()))).unwrap();
        assert!(e.is_err());
    }
}
