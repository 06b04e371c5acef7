//! The artifact checksum: xxh3-64 over every byte of the artifact file except the eight
//! bytes that hold it, so damage anywhere (ELF structure, metadata, data segments, code)
//! is noticed when the artifact is loaded.
//!
//! It lives at [`CHECKSUM_OFFSET`], right after the metadata's magic and format version:
//! a reader checks the version first (another version may keep its checksum elsewhere),
//! then the checksum. It guards against accidental damage only; anyone who changes an
//! artifact on purpose can compute it again.

use crate::{META_MAGIC, META_OFFSET};

/// File offset of the artifact checksum (u64, little-endian): after the ELF header, the
/// metadata magic and the format version.
pub const CHECKSUM_OFFSET: usize = META_OFFSET + META_MAGIC.len() + 4;

/// The checksum of `artifact`'s bytes as they are (every byte but the checksum's own
/// eight), or `None` when it is too short to hold one.
pub fn artifact_checksum(artifact: &[u8]) -> Option<u64> {
    let after = artifact.get(CHECKSUM_OFFSET + 8..)?;
    let mut h = xxhash_rust::xxh3::Xxh3Default::new();
    h.update(&artifact[..CHECKSUM_OFFSET]);
    h.update(after);
    Some(h.digest())
}

/// The checksum recorded in `artifact`, or `None` when it is too short to hold one.
pub fn stored_checksum(artifact: &[u8]) -> Option<u64> {
    let b = artifact.get(CHECKSUM_OFFSET..CHECKSUM_OFFSET + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

/// Records `artifact`'s checksum in it: the compiler's last step. Returns false (and
/// changes nothing) when it is too short to hold one.
pub fn seal(artifact: &mut [u8]) -> bool {
    let Some(sum) = artifact_checksum(artifact) else {
        return false;
    };
    artifact[CHECKSUM_OFFSET..CHECKSUM_OFFSET + 8].copy_from_slice(&sum.to_le_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed() -> Vec<u8> {
        let mut a: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
        assert!(seal(&mut a));
        a
    }

    #[test]
    fn a_sealed_artifact_matches_its_checksum() {
        let a = sealed();
        assert_eq!(stored_checksum(&a), artifact_checksum(&a));
    }

    #[test]
    fn a_changed_byte_anywhere_changes_the_checksum() {
        let a = sealed();
        for at in (0..a.len()).filter(|i| !(CHECKSUM_OFFSET..CHECKSUM_OFFSET + 8).contains(i)) {
            let mut b = a.clone();
            b[at] ^= 1;
            assert_ne!(stored_checksum(&b), artifact_checksum(&b), "byte {at}");
        }
    }

    #[test]
    fn a_changed_checksum_no_longer_matches() {
        let mut a = sealed();
        a[CHECKSUM_OFFSET + 3] ^= 0x10;
        assert_ne!(stored_checksum(&a), artifact_checksum(&a));
    }

    #[test]
    fn bytes_too_short_to_hold_a_checksum_have_none() {
        let mut short = vec![0u8; CHECKSUM_OFFSET + 7];
        assert_eq!(artifact_checksum(&short), None);
        assert_eq!(stored_checksum(&short), None);
        assert!(!seal(&mut short));
    }
}
