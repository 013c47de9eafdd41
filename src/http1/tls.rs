//! TLS recognition for the HTTP connection parser: tells a TLS record header from HTTP, and reads
//! the SNI host name out of a ClientHello (the only thing credsift wants from TLS; the payload is
//! never parsed as HTTP). Fed the first bytes of a direction by `http1`, feeds `SourceStats::snis`.
//! No TLS crate is among the dependencies, and this needs only a bounds-checked walk of a few
//! length-prefixed fields.

/// Whether `b` starts with a TLS record header (handshake, change cipher spec, alert or
/// application data; SSL 3.0 to TLS 1.3 record versions). `None`: not enough bytes to tell.
pub fn looks_like_tls(b: &[u8]) -> Option<bool> {
    let ct = *b.first()?;
    if !(0x14..=0x17).contains(&ct) {
        return Some(false);
    }
    let major = *b.get(1)?;
    if major != 0x03 {
        return Some(false);
    }
    let minor = *b.get(2)?;
    Some(minor <= 0x04)
}

/// Bytes needed to hold the whole first record, once its header is there.
pub fn first_record_len(b: &[u8]) -> Option<usize> {
    let l = b.get(3..5)?;
    Some(5 + usize::from(u16::from_be_bytes([l[0], l[1]])))
}

struct Cur<'a>(&'a [u8]);

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<usize> {
        self.take(1).map(|b| usize::from(b[0]))
    }
    fn u16(&mut self) -> Option<usize> {
        self.take(2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
}

/// The SNI host name of a ClientHello at the start of `b` (a TLS record), if it has one.
pub fn client_hello_sni(b: &[u8]) -> Option<String> {
    let mut c = Cur(b);
    let header = c.take(5)?;
    if header[0] != 0x16 {
        return None;
    }
    // Handshake: type 1 (ClientHello) and a 24-bit length; a record may be cut, so read what
    // is there.
    let hs = c.take(4)?;
    if hs[0] != 1 {
        return None;
    }
    c.take(2 + 32)?; // client version, random
    let sid = c.u8()?;
    c.take(sid)?;
    let suites = c.u16()?;
    c.take(suites)?;
    let comp = c.u8()?;
    c.take(comp)?;
    let ext_len = c.u16()?;
    let mut exts = Cur(c.take(ext_len.min(c.0.len()))?);
    while let (Some(ty), Some(len)) = (exts.u16(), exts.u16()) {
        let body = exts.take(len)?;
        if ty != 0 {
            continue;
        }
        let mut list = Cur(body);
        let list_len = list.u16()?;
        let mut names = Cur(list.take(list_len)?);
        while let Some(kind) = names.u8() {
            let n = names.u16()?;
            let name = names.take(n)?;
            if kind == 0 {
                let s = std::str::from_utf8(name).ok()?;
                if s.is_empty()
                    || !s
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
                {
                    return None;
                }
                return Some(s.to_ascii_lowercase());
            }
        }
    }
    None
}

#[cfg(test)]
pub(crate) fn build_client_hello(sni: &str) -> Vec<u8> {
    let name = sni.as_bytes();
    let mut sni_ext = Vec::new();
    sni_ext.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    sni_ext.push(0);
    sni_ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni_ext.extend_from_slice(name);
    let mut exts = Vec::new();
    exts.extend_from_slice(&[0x00, 0x17, 0x00, 0x00]); // extended master secret, empty
    exts.extend_from_slice(&[0x00, 0x00]);
    exts.extend_from_slice(&(sni_ext.len() as u16).to_be_bytes());
    exts.extend_from_slice(&sni_ext);
    let mut hello = vec![0x03, 0x03];
    hello.extend_from_slice(&[7u8; 32]);
    hello.push(0); // session id
    hello.extend_from_slice(&[0x00, 0x02, 0x13, 0x01]);
    hello.extend_from_slice(&[0x01, 0x00]);
    hello.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    hello.extend_from_slice(&exts);
    let mut hs = vec![0x01, 0x00];
    hs.extend_from_slice(&(hello.len() as u16).to_be_bytes());
    hs.extend_from_slice(&hello);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sni_from_client_hello() {
        let rec = build_client_hello("API.Example.com");
        assert_eq!(looks_like_tls(&rec), Some(true));
        assert_eq!(first_record_len(&rec), Some(rec.len()));
        assert_eq!(client_hello_sni(&rec).as_deref(), Some("api.example.com"));
        // Cut anywhere: never panics, and never invents a name.
        for n in 0..rec.len() {
            let r = client_hello_sni(&rec[..n]);
            assert!(r.is_none() || r.as_deref() == Some("api.example.com"));
        }
        assert_eq!(looks_like_tls(b"GET / HTTP/1.1"), Some(false));
        assert_eq!(looks_like_tls(b"\x16"), None);
    }
}
