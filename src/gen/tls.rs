//! TLS records for the generator: a ClientHello shaped like a browser's (SNI, ALPN, key share,
//! supported versions), a TLS 1.3 ServerHello, ChangeCipherSpec and opaque application-data
//! records. `samples` and `bench` hand these bytes to `tcp` as the flights of a TLS connection,
//! so that credsift's TLS recognition (record header, SNI) has something real to read.

use rand::Rng;

const HANDSHAKE: u8 = 0x16;
const CHANGE_CIPHER_SPEC: u8 = 0x14;
const APPLICATION_DATA: u8 = 0x17;
/// Largest TLS plaintext record body (2^14) plus the AEAD expansion TLS 1.3 allows.
pub const MAX_RECORD: usize = 16384 + 256;

fn put_u16(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u16).to_be_bytes());
}

fn put_u24(out: &mut Vec<u8>, v: usize) {
    let b = (v as u32).to_be_bytes();
    out.extend_from_slice(&b[1..]);
}

fn random_bytes<R: Rng>(rng: &mut R, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

fn extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    put_u16(out, body.len());
    out.extend_from_slice(body);
}

fn record(content_type: u8, legacy_version: u16, body: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(body.len() + 5);
    r.push(content_type);
    r.extend_from_slice(&legacy_version.to_be_bytes());
    put_u16(&mut r, body.len());
    r.extend_from_slice(body);
    r
}

fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(body.len() + 4);
    h.push(kind);
    put_u24(&mut h, body.len());
    h.extend_from_slice(body);
    h
}

/// A ClientHello record for `sni` (record version 0x0301 as browsers send it).
pub fn client_hello<R: Rng>(rng: &mut R, sni: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(512);
    b.extend_from_slice(&[0x03, 0x03]);
    b.extend_from_slice(&random_bytes(rng, 32));
    b.push(32);
    b.extend_from_slice(&random_bytes(rng, 32));
    let suites: [u16; 9] = [
        0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
    ];
    put_u16(&mut b, suites.len() * 2);
    for s in suites {
        b.extend_from_slice(&s.to_be_bytes());
    }
    b.extend_from_slice(&[0x01, 0x00]);

    let mut ext = Vec::with_capacity(256);
    let mut sni_body = Vec::with_capacity(sni.len() + 5);
    put_u16(&mut sni_body, sni.len() + 3);
    sni_body.push(0);
    put_u16(&mut sni_body, sni.len());
    sni_body.extend_from_slice(sni.as_bytes());
    extension(&mut ext, 0x0000, &sni_body);
    extension(&mut ext, 0x0017, &[]);
    extension(&mut ext, 0xff01, &[0x00]);
    extension(
        &mut ext,
        0x000a,
        &[0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18],
    );
    extension(&mut ext, 0x000b, &[0x01, 0x00]);
    extension(&mut ext, 0x0023, &[]);
    extension(
        &mut ext,
        0x0010,
        &[
            0x00, 0x0c, 0x02, b'h', b'2', 0x08, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
        ],
    );
    extension(
        &mut ext,
        0x000d,
        &[
            0x00, 0x10, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03, 0x08, 0x05, 0x05, 0x01,
            0x08, 0x06, 0x06, 0x01,
        ],
    );
    let mut key_share = vec![0x00, 0x24, 0x00, 0x1d, 0x00, 0x20];
    key_share.extend_from_slice(&random_bytes(rng, 32));
    extension(&mut ext, 0x0033, &key_share);
    extension(&mut ext, 0x002d, &[0x01, 0x01]);
    extension(&mut ext, 0x002b, &[0x04, 0x03, 0x04, 0x03, 0x03]);
    put_u16(&mut b, ext.len());
    b.extend_from_slice(&ext);
    record(HANDSHAKE, 0x0301, &handshake(0x01, &b))
}

/// The server's first flight: a TLS 1.3 ServerHello, a ChangeCipherSpec, and one opaque record
/// standing for the encrypted extensions, certificate and finished messages.
pub fn server_hello_flight<R: Rng>(rng: &mut R) -> Vec<u8> {
    let mut b = Vec::with_capacity(128);
    b.extend_from_slice(&[0x03, 0x03]);
    b.extend_from_slice(&random_bytes(rng, 32));
    b.push(32);
    b.extend_from_slice(&random_bytes(rng, 32));
    b.extend_from_slice(&0x1301u16.to_be_bytes());
    b.push(0);
    let mut ext = Vec::new();
    extension(&mut ext, 0x002b, &[0x03, 0x04]);
    let mut key_share = vec![0x00, 0x1d, 0x00, 0x20];
    key_share.extend_from_slice(&random_bytes(rng, 32));
    extension(&mut ext, 0x0033, &key_share);
    put_u16(&mut b, ext.len());
    b.extend_from_slice(&ext);
    let mut flight = record(HANDSHAKE, 0x0303, &handshake(0x02, &b));
    flight.extend_from_slice(&record(CHANGE_CIPHER_SPEC, 0x0303, &[0x01]));
    flight.extend_from_slice(&application_data(rng, 2400));
    flight
}

/// Opaque application-data records carrying `len` bytes of ciphertext in total.
pub fn application_data<R: Rng>(rng: &mut R, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 5 * (len / MAX_RECORD + 1));
    let mut left = len.max(1);
    while left > 0 {
        let n = left.min(MAX_RECORD);
        out.push(APPLICATION_DATA);
        out.extend_from_slice(&[0x03, 0x03]);
        put_u16(&mut out, n);
        let start = out.len();
        out.resize(start + n, 0);
        if let Some(tail) = out.get_mut(start..) {
            rng.fill_bytes(tail);
        }
        left -= n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Finds the SNI the way a passive reader does: walk the ClientHello to its extensions.
    fn sni_of(rec: &[u8]) -> Option<String> {
        assert_eq!(rec[0], HANDSHAKE);
        let len = u16::from_be_bytes([rec[3], rec[4]]) as usize;
        assert_eq!(rec.len(), len + 5);
        let hs = &rec[5..];
        assert_eq!(hs[0], 1);
        let mut p = 4 + 2 + 32;
        p += 1 + hs[p] as usize;
        p += 2 + u16::from_be_bytes([hs[p], hs[p + 1]]) as usize;
        p += 1 + hs[p] as usize;
        let end = p + 2 + u16::from_be_bytes([hs[p], hs[p + 1]]) as usize;
        assert_eq!(end, hs.len());
        p += 2;
        while p < end {
            let kind = u16::from_be_bytes([hs[p], hs[p + 1]]);
            let l = u16::from_be_bytes([hs[p + 2], hs[p + 3]]) as usize;
            if kind == 0 {
                let n = u16::from_be_bytes([hs[p + 7], hs[p + 8]]) as usize;
                return Some(String::from_utf8(hs[p + 9..p + 9 + n].to_vec()).unwrap());
            }
            p += 4 + l;
        }
        None
    }

    #[test]
    fn client_hello_carries_sni() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
        let ch = client_hello(&mut rng, "secure.example.com");
        assert_eq!(sni_of(&ch).as_deref(), Some("secure.example.com"));
    }

    #[test]
    fn application_data_is_split_into_records() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(2);
        let data = application_data(&mut rng, 40000);
        let mut p = 0;
        let mut total = 0;
        while p < data.len() {
            assert_eq!(&data[p..p + 3], &[0x17, 0x03, 0x03]);
            let n = u16::from_be_bytes([data[p + 3], data[p + 4]]) as usize;
            assert!(n <= MAX_RECORD);
            total += n;
            p += 5 + n;
        }
        assert_eq!(p, data.len());
        assert_eq!(total, 40000);
    }
}
