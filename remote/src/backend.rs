//! The one seam between the remote level and a protocol.

use crate::object::Name;
use crate::Failure;

/// What a protocol gives the remote level: objects by name, fetched and stored in
/// batches. Every method may be called from several threads at once.
///
/// The contract: a get returns the object's bytes exactly as the server holds them (or
/// `None` when it has none); checking them is the caller's job. Each call counts every
/// request it sends in [`Backend::requests`], a batch of Redis commands sent together as
/// one. A failure is returned, never panicked or retried forever: the caller's health
/// accounting decides what happens next.
pub(crate) trait Backend: Send + Sync {
    /// One result per name, in order. `Err` for a name whose request failed.
    fn get_many(&self, names: &[Name]) -> Vec<Result<Option<Vec<u8>>, Failure>>;
    /// Stores every object (blobs before the records that name them, in the order
    /// given); one result per object.
    fn put_many(&self, objects: &[(Name, &[u8])]) -> Vec<Result<(), Failure>>;
    /// Which of the names the server already holds.
    fn exists_many(&self, names: &[Name]) -> Vec<Result<bool, Failure>>;
    /// Requests sent so far.
    fn requests(&self) -> u64;
}
