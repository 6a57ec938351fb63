//! Why a plugin was refused or its call skipped, in words an owner can act on.

/// A plugin could not be loaded, or one call of it failed (the shop then goes on without it).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PluginError {
    /// Not a valid WebAssembly module.
    #[error("not a valid WebAssembly module: {0}")]
    Invalid(String),
    /// The module imports something its permissions do not grant.
    #[error("the module imports {module}.{name}, which its permissions do not grant")]
    ImportNotGranted {
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
    },
    /// A required export is missing or has the wrong type.
    #[error("the module does not export {0} as the plugin interface requires")]
    MissingExport(String),
    /// The instruction budget ran out (an endless loop, or too much work).
    #[error("it ran out of fuel ({0} instructions)")]
    OutOfFuel(u64),
    /// It asked for more memory than the cap.
    #[error("it asked for more than {0} bytes of memory")]
    MemoryLimit(usize),
    /// It ran past its wall-clock deadline.
    #[error("it ran past its {0} ms deadline")]
    Deadline(u128),
    /// The input is larger than plugins are given.
    #[error("the input is {0} bytes, over the limit")]
    InputTooLarge(usize),
    /// The output is larger than plugins may return.
    #[error("its output is {0} bytes, over the limit")]
    OutputTooLarge(usize),
    /// The output is not the JSON the hook expects, or points outside memory.
    #[error("its output is not valid: {0}")]
    BadOutput(String),
    /// Any other trap (unreachable, out-of-bounds access, stack overflow...).
    #[error("it crashed: {0}")]
    Trap(String),
}
