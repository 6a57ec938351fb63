//! The sandbox's limits, after Shopify Functions' published ones.

use std::time::Duration;

/// What one hook call may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Instructions (wasmtime fuel) per call.
    pub fuel: u64,
    /// Linear memory, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock time per call.
    pub deadline: Duration,
    /// Largest input JSON, in bytes.
    pub max_input: usize,
    /// Largest output JSON, in bytes.
    pub max_output: usize,
}

impl Default for Limits {
    /// 11M instructions, 10 MB of memory, 128 kB in, 20 kB out (Shopify Functions), and
    /// 50 ms of wall-clock time.
    fn default() -> Self {
        Limits {
            fuel: 11_000_000,
            memory_bytes: 10 * 1024 * 1024,
            deadline: Duration::from_millis(50),
            max_input: 128 * 1024,
            max_output: 20 * 1024,
        }
    }
}
