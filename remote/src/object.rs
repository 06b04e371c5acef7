//! The remote objects: an action-cache record per (tier, key), holding the payload
//! itself when it is small and otherwise naming a content-addressed blob, each checked
//! by its SHA-256 and optionally authenticated with HMAC-SHA256.

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use wasmprecomp_cache::{CacheKey, Tier};

type HmacSha256 = hmac::Hmac<Sha256>;

/// Payloads up to this size travel inside their record (one request per hit); larger
/// ones are a CAS blob of their own (two requests), so a record stays small.
pub(crate) const INLINE_LIMIT: usize = 1 << 20;

const MAGIC: &[u8; 8] = b"WPCRMT1\0";
/// Record header: magic, tier, storage, flags, reserved, key, length, digest, tag.
pub(crate) const HEADER: usize = 8 + 1 + 1 + 1 + 1 + 4 + 32 + 8 + 32 + 32;
const TAGGED_PART: usize = HEADER - 32;
const STORAGE_INLINE: u8 = 0;
const STORAGE_CAS: u8 = 1;
const FLAG_TAGGED: u8 = 1;

/// The name of an object on the server: in the action cache (records) or the
/// content-addressed store (blobs named by their SHA-256).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Name {
    Ac([u8; 32]),
    Cas([u8; 32]),
}

impl Name {
    /// `ac/<hex>` or `cas/<hex>`: the Bazel HTTP layout's path below the base URL.
    pub fn path(&self) -> String {
        match self {
            Name::Ac(h) => format!("ac/{}", CacheKey(*h).to_hex()),
            Name::Cas(h) => format!("cas/{}", CacheKey(*h).to_hex()),
        }
    }
}

fn tier_code(tier: Tier) -> u8 {
    match tier {
        Tier::Module => 0,
        Tier::Function => 1,
        Tier::Manifest => 2,
    }
}

/// The record name of (tier, key): a SHA-256, as the Bazel layout wants action keys,
/// over this layout's version, the tier and the key (the tiers are separate key spaces).
pub(crate) fn record_name(tier: Tier, key: &CacheKey) -> Name {
    let mut h = Sha256::new();
    h.update(b"wasmprecomp-remote/1\0");
    h.update([tier_code(tier)]);
    h.update(key.0);
    Name::Ac(h.finalize().into())
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The record of (tier, key), encoded: with the payload inline when it is small;
/// otherwise the payload is stored on its own as the CAS blob named by its digest.
pub(crate) fn encode(tier: Tier, key: &CacheKey, payload: &[u8], secret: Option<&[u8]>) -> Vec<u8> {
    let inline = payload.len() <= INLINE_LIMIT;
    let mut r = Vec::with_capacity(HEADER + if inline { payload.len() } else { 0 });
    r.extend_from_slice(MAGIC);
    r.push(tier_code(tier));
    r.push(if inline { STORAGE_INLINE } else { STORAGE_CAS });
    r.push(if secret.is_some() { FLAG_TAGGED } else { 0 });
    r.extend_from_slice(&[0; 5]);
    r.extend_from_slice(&key.0);
    r.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    r.extend_from_slice(&sha256(payload));
    let tag = secret.map(|s| tag(s, &r)).unwrap_or([0; 32]);
    r.extend_from_slice(&tag);
    if inline {
        r.extend_from_slice(payload);
    }
    r
}

fn mac(secret: &[u8], header: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length.
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    m.update(&header[..TAGGED_PART]);
    m
}

fn tag(secret: &[u8], header: &[u8]) -> [u8; 32] {
    mac(secret, header).finalize().into_bytes().into()
}

/// What a record says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Record {
    /// The payload, checked against its digest.
    Inline(Vec<u8>),
    /// The payload is the CAS blob with this digest and length.
    Cas { digest: [u8; 32], len: u64 },
}

/// Why a record or blob was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejected {
    /// Damaged, truncated, for another key or tier, or a digest mismatch.
    Corrupt,
    /// No valid authentication tag while a key is configured.
    Unauthenticated,
}

/// Decodes and checks a record fetched for (tier, key).
pub(crate) fn decode(
    tier: Tier,
    key: &CacheKey,
    bytes: &[u8],
    secret: Option<&[u8]>,
) -> Result<Record, Rejected> {
    let h = bytes.get(..HEADER).ok_or(Rejected::Corrupt)?;
    if &h[..8] != MAGIC || h[8] != tier_code(tier) || h[12..16] != [0; 4] || h[16..48] != key.0 {
        return Err(Rejected::Corrupt);
    }
    let storage = h[9];
    let flags = h[10];
    if h[11] != 0 || flags & !FLAG_TAGGED != 0 {
        return Err(Rejected::Corrupt);
    }
    let mut len8 = [0u8; 8];
    len8.copy_from_slice(&h[48..56]);
    let len = u64::from_le_bytes(len8);
    let mut digest = [0u8; 32];
    digest.copy_from_slice(&h[56..88]);
    if let Some(s) = secret {
        if flags & FLAG_TAGGED == 0 || mac(s, h).verify_slice(&h[88..120]).is_err() {
            return Err(Rejected::Unauthenticated);
        }
    }
    let body = &bytes[HEADER..];
    match storage {
        STORAGE_INLINE if body.len() as u64 == len && sha256(body) == digest => {
            Ok(Record::Inline(body.to_vec()))
        }
        STORAGE_CAS if body.is_empty() && len > INLINE_LIMIT as u64 => {
            Ok(Record::Cas { digest, len })
        }
        _ => Err(Rejected::Corrupt),
    }
}

/// Checks a CAS blob against the record that named it.
pub(crate) fn check_blob(blob: &[u8], digest: &[u8; 32], len: u64) -> bool {
    blob.len() as u64 == len && sha256(blob) == *digest
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: CacheKey = CacheKey([7; 32]);

    #[test]
    fn a_record_decodes_to_its_payload_and_nothing_else() {
        let r = encode(Tier::Function, &K, b"code", None);
        assert_eq!(
            decode(Tier::Function, &K, &r, None),
            Ok(Record::Inline(b"code".to_vec()))
        );
        // Another tier or key, a flipped payload byte, a cut: all corrupt.
        assert_eq!(decode(Tier::Module, &K, &r, None), Err(Rejected::Corrupt));
        assert_eq!(
            decode(Tier::Function, &CacheKey([8; 32]), &r, None),
            Err(Rejected::Corrupt)
        );
        let mut bad = r.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(
            decode(Tier::Function, &K, &bad, None),
            Err(Rejected::Corrupt)
        );
        assert_eq!(
            decode(Tier::Function, &K, &r[..r.len() - 1], None),
            Err(Rejected::Corrupt)
        );
        assert_eq!(
            decode(Tier::Function, &K, &r[..10], None),
            Err(Rejected::Corrupt)
        );
    }

    #[test]
    fn with_a_key_only_records_tagged_with_that_key_are_accepted() {
        let tagged = encode(Tier::Manifest, &K, b"m", Some(b"secret"));
        assert!(decode(Tier::Manifest, &K, &tagged, Some(b"secret")).is_ok());
        assert_eq!(
            decode(Tier::Manifest, &K, &tagged, Some(b"other")),
            Err(Rejected::Unauthenticated)
        );
        let plain = encode(Tier::Manifest, &K, b"m", None);
        assert_eq!(
            decode(Tier::Manifest, &K, &plain, Some(b"secret")),
            Err(Rejected::Unauthenticated)
        );
        // A writer without the key who recomputes the digest of new content still fails.
        let mut forged = encode(Tier::Manifest, &K, b"x", None);
        forged[88..120].copy_from_slice(&tagged[88..120]);
        forged[10] = FLAG_TAGGED;
        assert_eq!(
            decode(Tier::Manifest, &K, &forged, Some(b"secret")),
            Err(Rejected::Unauthenticated)
        );
    }

    #[test]
    fn large_payloads_name_a_blob_checked_by_digest_and_length() {
        let big = vec![3u8; INLINE_LIMIT + 1];
        let r = encode(Tier::Module, &K, &big, None);
        assert_eq!(r.len(), HEADER);
        let Ok(Record::Cas { digest, len }) = decode(Tier::Module, &K, &r, None) else {
            panic!("not a CAS record");
        };
        assert!(check_blob(&big, &digest, len));
        assert!(!check_blob(&big[1..], &digest, len));
    }
}
