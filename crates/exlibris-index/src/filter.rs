//! The membership filter in front of the fingerprint table.
//!
//! Most fingerprints of a corpus are in no work. A binary fuse filter
//! (Graf & Lemire, 2022; the `xorf` crate) of every fingerprint in the table
//! answers "not in the catalog" from about 9 bits a fingerprint (0.4 % false
//! positives), so a scan touches the large, memory-mapped table only for
//! fingerprints that are there. The filter is what stays resident.
//!
//! ```text
//! present: u64 (0: no filter, every lookup goes to the table) | descriptor | fingerprints: u8 × n
//! ```
use std::path::Path;

use xorf::{BinaryFuse8, BinaryFuse8Ref, DmaSerializable, Filter, FilterRef};

use crate::error::{IndexError, Result};
use crate::format::ComponentWriter;

/// Component kind of the filter.
pub const KIND: &[u8; 4] = b"FLTR";
/// Its format version (tied to the `xorf` descriptor layout).
pub const VERSION: u32 = 1;

const DESC: usize = <BinaryFuse8 as DmaSerializable>::DESCRIPTOR_LEN;

/// Build the filter of `keys` (distinct) and write it to `path`; returns the
/// checksum and the filter's size in bytes.
pub fn write_filter(path: &Path, keys: &[u64]) -> Result<(u64, u64)> {
    let mut out = ComponentWriter::create(path, KIND, VERSION)?;
    if keys.is_empty() {
        out.write(&0u64.to_le_bytes())?;
        return Ok((out.finish()?, 0));
    }
    let f = BinaryFuse8::try_from(keys)
        .map_err(|e| IndexError::Invalid(format!("cannot build the fingerprint filter: {e}")))?;
    let mut desc = vec![0u8; DESC];
    f.dma_copy_descriptor_to(&mut desc);
    out.write(&1u64.to_le_bytes())?;
    out.write(&desc)?;
    out.write(f.dma_fingerprints())?;
    let size = f.dma_fingerprints().len() as u64;
    Ok((out.finish()?, size))
}

/// Read side: `None` inside means "no filter", and every key may be present.
pub struct FingerprintFilter<'a>(Option<BinaryFuse8Ref<'a>>);

impl<'a> FingerprintFilter<'a> {
    /// Interpret a verified component body.
    pub fn new(body: &'a [u8], path: &Path) -> Result<Self> {
        let corrupt = |r: &str| IndexError::Corrupt { path: path.to_path_buf(), reason: r.into() };
        if body.len() < 8 {
            return Err(corrupt("filter too short"));
        }
        match u64::from_le_bytes(body[..8].try_into().unwrap()) {
            0 => Ok(FingerprintFilter(None)),
            1 if body.len() > 8 + DESC => {
                Ok(FingerprintFilter(Some(BinaryFuse8Ref::from_dma(&body[8..8 + DESC], &body[8 + DESC..]))))
            }
            _ => Err(corrupt("bad filter header")),
        }
    }

    /// False when `hash` is certainly not in the table.
    #[inline]
    pub fn may_contain(&self, hash: u64) -> bool {
        self.0.as_ref().is_none_or(|f| f.contains(&hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Component;

    #[test]
    fn members_always_pass_and_most_others_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let keys: Vec<u64> = (0..50_000u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect();
        write_filter(&p, &keys).unwrap();
        let c = Component::open(&p, KIND, VERSION).unwrap();
        let f = FingerprintFilter::new(c.body(), &p).unwrap();
        assert!(keys.iter().all(|&k| f.may_contain(k)));
        let fp = (0..100_000u64).filter(|i| f.may_contain(i.wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ 1)).count();
        assert!(fp < 1000, "{fp} false positives in 100000");
        write_filter(&p, &[]).unwrap();
        let c = Component::open(&p, KIND, VERSION).unwrap();
        assert!(FingerprintFilter::new(c.body(), &p).unwrap().may_contain(42));
    }
}
