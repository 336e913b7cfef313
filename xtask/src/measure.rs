//! Sizes of artifact files (raw, gzip -9, brotli quality 11).

use std::io::Write;

use anyhow::Result;
use serde::{Deserialize, Serialize};

/// Sizes of one file, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sizes {
    /// Uncompressed size in bytes.
    pub bytes: u64,
    /// gzip (level 9) size in bytes.
    pub gzip: u64,
    /// brotli (quality 11, window 22) size in bytes.
    pub brotli: u64,
}

/// Measure `data`: raw, gzip level 9 (flate2) and brotli quality 11 window 22
/// (brotli crate), the latter two computed in parallel.
pub fn sizes(data: &[u8]) -> Result<Sizes> {
    let (gzip, brotli) = std::thread::scope(|s| {
        let gzip = s.spawn(|| -> Result<u64> {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(data)?;
            Ok(enc.finish()?.len() as u64)
        });
        let brotli = s.spawn(|| -> Result<u64> {
            let mut out = Vec::new();
            {
                let mut enc = brotli::CompressorWriter::new(&mut out, 1 << 16, 11, 22);
                enc.write_all(data)?;
                enc.flush()?;
            }
            Ok(out.len() as u64)
        });
        (gzip.join().expect("gzip thread panicked"), brotli.join().expect("brotli thread panicked"))
    });
    Ok(Sizes { bytes: data.len() as u64, gzip: gzip?, brotli: brotli? })
}

/// `1234567` → `"1,234,567"`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_deterministic_and_compress_repetitive_data() {
        let data = b"xs-wasm ".repeat(1000);
        let a = sizes(&data).unwrap();
        assert_eq!(a, sizes(&data).unwrap());
        assert_eq!(a.bytes, 8000);
        assert!(a.gzip < 200 && a.brotli < 200, "{a:?}");
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
