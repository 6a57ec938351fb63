//! Progress reporting: the CLI draws bars, the scheduler and tests report nothing.

/// Something that shows how far a long step has got.
pub trait Progress: Send + Sync {
    /// A new stage starts ("snapshot", "encrypt", "upload local", ...); `total` bytes if known.
    fn start(&self, stage: &str, total: Option<u64>);
    /// `bytes` more were processed in the current stage.
    fn advance(&self, bytes: u64);
    /// The current stage ended.
    fn finish(&self);
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _stage: &str, _total: Option<u64>) {}
    fn advance(&self, _bytes: u64) {}
    fn finish(&self) {}
}
