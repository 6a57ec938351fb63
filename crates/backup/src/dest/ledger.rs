//! The erasure ledger beside the backups: `erasures.log` (customer IDs and times, no personal
//! data), overwritten after every backup, so that a restore on a new machine can re-apply the
//! erasures made after the backup it restores.

use object_store::{ObjectStore, PutPayload};

use super::Destination;
use crate::BackupError;

/// The ledger's object name on every destination.
pub const LEDGER: &str = "erasures.log";

/// Largest ledger accepted back (a line per erased customer: millions of erasures).
const MAX_LEDGER: u64 = 256 * 1024 * 1024;

impl Destination {
    /// Store (replace) the ledger here.
    pub async fn put_ledger(&self, text: &[u8]) -> Result<(), BackupError> {
        self.store
            .put(&self.key(LEDGER), PutPayload::from(text.to_vec()))
            .await
            .map(|_| ())
            .map_err(|e| self.fail(format!("cannot store the erasure ledger: {e}")))
    }

    /// The ledger stored here, if any.
    pub async fn get_ledger(&self) -> Result<Option<Vec<u8>>, BackupError> {
        let got = match self.store.get(&self.key(LEDGER)).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.fail(format!("cannot read the erasure ledger: {e}"))),
        };
        if got.meta.size > MAX_LEDGER {
            return Err(self.fail("the stored erasure ledger is implausibly large"));
        }
        let bytes = got
            .bytes()
            .await
            .map_err(|e| self.fail(format!("cannot read the erasure ledger: {e}")))?;
        Ok(Some(bytes.to_vec()))
    }
}
