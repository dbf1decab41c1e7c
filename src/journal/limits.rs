//! The one size limit, and the caps derived from it: whatever setup
//! accepts and records, cleanup can read back and undo.

pub(crate) use crate::composer::auth::MAX_AUTH_BYTES;
/// The largest auth.json cleanup reads: Composer may have added to the file
/// since setup.
pub(crate) const MAX_CHANGED_AUTH_BYTES: u64 = 4 * MAX_AUTH_BYTES;
/// The largest ledger or state: the original file in base64 and a few
/// hundred bytes for each active setup.
pub(crate) const MAX_RECORD_BYTES: u64 = 2 * MAX_AUTH_BYTES + (1 << 20);
