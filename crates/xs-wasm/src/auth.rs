//! Authenticated snapshots: an HMAC-SHA256 trailer under a host key.
//!
//! An authenticated snapshot is a snapshot (the 32-byte xs-wasm header and
//! its payload, see `port/xs_wasm.h`) followed by a 40-byte trailer:
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0      | 32+P | the snapshot: header and payload (P bytes) |
//! | 32+P   | 8    | magic `b"XSWAMAC1"` |
//! | 40+P   | 32   | HMAC-SHA256 under the key of every byte before this field |
//!
//! The engine never sees the trailer: the host checks and removes it before
//! restoring. The JS package writes and reads the same format.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{Error, Result, SnapshotAuthError};

/// Magic of the MAC trailer.
pub(crate) const MAC_MAGIC: &[u8; 8] = b"XSWAMAC1";
/// Bytes of the MAC trailer: magic and HMAC-SHA256.
pub(crate) const TRAILER_LEN: usize = 8 + 32;

/// A host key for authenticated snapshots ([`Options::snapshot_key`](crate::Options::snapshot_key)):
/// snapshots written with it carry an HMAC-SHA256 of their bytes, and
/// restoring with it refuses any snapshot whose MAC is missing or not
/// this key's ([`Error::SnapshotAuth`]).
///
/// The format: the snapshot (its 32-byte header, whose bytes 24..28 give the
/// payload length P, and the payload) followed by a 40-byte trailer, the
/// magic `b"XSWAMAC1"` at offset 32 + P and, at 40 + P, the HMAC-SHA256
/// under the key of every byte before it (header, payload and magic). The
/// JS package (option `snapshotKey`) writes and reads the same bytes.
///
/// Use at least 32 random bytes, kept where guests and snapshot files cannot
/// be read from. `Debug` does not show the key.
#[derive(Clone)]
pub struct SnapshotKey {
    key: std::sync::Arc<[u8]>,
}

impl std::fmt::Debug for SnapshotKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotKey").field("bytes", &self.key.len()).finish_non_exhaustive()
    }
}

impl SnapshotKey {
    /// The shortest key accepted, bytes (16: 128 bits; 32 recommended).
    pub const MIN_LEN: usize = 16;

    /// A key of `bytes` (any length from [`SnapshotKey::MIN_LEN`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOptions`] for a shorter key.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::{Error, SnapshotKey};
    /// let key = SnapshotKey::new([7u8; 32])?;
    /// assert!(matches!(SnapshotKey::new(b"too short"), Err(Error::InvalidOptions(_))));
    /// # drop(key);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(bytes: impl AsRef<[u8]>) -> Result<Self> {
        let bytes = bytes.as_ref();
        if bytes.len() < Self::MIN_LEN {
            return Err(Error::InvalidOptions(format!("a snapshot key of {} bytes is too short (at least {}; 32 random bytes recommended)", bytes.len(), Self::MIN_LEN)));
        }
        Ok(SnapshotKey { key: bytes.into() })
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC accepts any key length")
    }

    /// `snapshot` (as [`Machine::snapshot`](crate::Machine::snapshot) writes it
    /// without a key) with this key's MAC trailer appended: what
    /// `snapshot()` writes with this key.
    ///
    /// # Errors
    ///
    /// [`Error::Snapshot`] when `snapshot` already carries a MAC
    /// trailer.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::{Error, Machine, Options, Runtime, SnapshotKey};
    /// let key = SnapshotKey::new([7u8; 32])?;
    /// let snapshot = Machine::new(&Runtime::new()?, Options::default())?.snapshot()?;
    /// let signed = key.sign(&snapshot)?;
    /// assert_eq!(signed.len(), snapshot.len() + 40);
    /// assert!(matches!(key.sign(&signed), Err(Error::Snapshot { .. })), "signed already");
    /// # Ok(())
    /// # }
    /// ```
    pub fn sign(&self, snapshot: &[u8]) -> Result<Vec<u8>> {
        if has_trailer(snapshot) {
            return Err(Error::Snapshot { reason: "the snapshot is authenticated already".into() });
        }
        let mut out = Vec::with_capacity(snapshot.len() + TRAILER_LEN);
        out.extend_from_slice(snapshot);
        out.extend_from_slice(MAC_MAGIC);
        let mut mac = self.mac();
        mac.update(&out);
        out.extend_from_slice(&mac.finalize().into_bytes());
        Ok(out)
    }

    /// Check `authenticated`'s MAC under this key (in constant time) and
    /// return the snapshot it carries (without the trailer).
    ///
    /// # Errors
    ///
    /// [`Error::SnapshotAuth`] with [`SnapshotAuthError::Missing`]
    /// (no MAC trailer) or [`SnapshotAuthError::Mismatch`] (another key's MAC,
    /// or changed bytes).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::{Error, Machine, Options, Runtime, SnapshotKey};
    /// let key = SnapshotKey::new([7u8; 32])?;
    /// let snapshot = Machine::new(&Runtime::new()?, Options::default())?.snapshot()?;
    /// let signed = key.sign(&snapshot)?;
    /// assert_eq!(key.verify(&signed)?, &snapshot[..]);
    /// let other = SnapshotKey::new([8u8; 32])?;
    /// assert!(matches!(other.verify(&signed), Err(Error::SnapshotAuth(_))));
    /// assert!(matches!(key.verify(&snapshot), Err(Error::SnapshotAuth(_))), "no MAC");
    /// # Ok(())
    /// # }
    /// ```
    pub fn verify<'a>(&self, authenticated: &'a [u8]) -> Result<&'a [u8]> {
        if !has_trailer(authenticated) {
            return Err(Error::SnapshotAuth(SnapshotAuthError::Missing));
        }
        let (signed, tag) = authenticated.split_at(authenticated.len() - 32);
        let mut mac = self.mac();
        mac.update(signed);
        mac.verify_slice(tag).map_err(|_| Error::SnapshotAuth(SnapshotAuthError::Mismatch))?;
        Ok(&signed[..signed.len() - MAC_MAGIC.len()])
    }
}

/// Whether `bytes` are a snapshot followed by a MAC trailer: the header's
/// payload length P (offset 24) puts the trailer's magic at 32 + P and the
/// bytes end 40 bytes later. A snapshot without a trailer is exactly
/// 32 + P bytes long, so whatever its payload holds it never looks like one
/// with a trailer.
pub(crate) fn has_trailer(bytes: &[u8]) -> bool {
    if bytes.len() < 32 + TRAILER_LEN {
        return false;
    }
    let payload = u32::from_le_bytes(bytes[24..28].try_into().expect("4 bytes")) as usize;
    let Some(end) = payload.checked_add(32) else { return false };
    end.checked_add(TRAILER_LEN) == Some(bytes.len()) && &bytes[end..end + MAC_MAGIC.len()] == MAC_MAGIC
}

/// The snapshot to restore: with a key, checked and without its trailer;
/// without one, without its trailer if it has one (not checked: such a
/// snapshot is as untrusted as any).
pub(crate) fn open<'a>(key: Option<&SnapshotKey>, bytes: &'a [u8]) -> Result<&'a [u8]> {
    match key {
        Some(key) => key.verify(bytes),
        None if has_trailer(bytes) => Ok(&bytes[..bytes.len() - TRAILER_LEN]),
        None => Ok(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 (HMAC-SHA256, key "Jefe"), through the same
    /// `Mac` the trailer uses: the crate computes standard HMAC-SHA256.
    #[test]
    fn hmac_sha256_is_the_standard_one() {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn short_keys_are_refused_and_debug_hides_the_key() {
        assert!(matches!(SnapshotKey::new([1u8; 15]), Err(Error::InvalidOptions(_))));
        let key = SnapshotKey::new(b"0123456789abcdef-secret").unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("secret") && shown.contains("23"), "{shown}");
    }
}
