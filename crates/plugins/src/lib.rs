//! The plugin sandbox. A plugin is a WebAssembly module run by wasmtime with a fuel
//! (instruction) budget, a linear-memory cap, a wall-clock deadline and input/output size
//! limits. It has no WASI: no filesystem, no network, no clock or randomness unless its
//! permissions grant the matching import. A module asking for any other import is refused
//! when it is loaded.
//!
//! The calling convention (version 1), documented for plugin authors in `docs/PLUGINS.md`
//! when the plugin feature lands: the module exports `memory`, `alloc(len: i32) -> i32` and one
//! function per hook, `hook(ptr: i32, len: i32) -> i64`. The host writes the hook's input JSON
//! at the address `alloc` returned and calls the hook; the result packs the output JSON's
//! address (high 32 bits) and length (low 32 bits).
#![forbid(unsafe_code)]

mod error;
mod host;
mod limits;
mod permissions;

pub use error::PluginError;
pub use host::{Host, Plugin};
pub use limits::Limits;
pub use permissions::Permission;
