//! Plugins: WebAssembly modules the owner approved, run in a sandbox at four hooks of an
//! order's life (see `docs/PLUGINS.md`).
//!
//! A plugin runs under wasmtime with a fuel (instruction) budget, a linear-memory cap, a
//! wall-clock deadline and input/output size limits. It has no WASI: no filesystem, no network,
//! no clock or randomness unless its permissions grant the matching import. A module asking for
//! any other import is refused when it is loaded. Its inputs hold only what its permissions
//! allow.
//!
//! The calling convention (version 1): the module exports `memory`, `alloc(len: i32) -> i32`
//! and one function per hook, `<hook>_v1(ptr: i32, len: i32) -> i64`. The host writes the
//! hook's input JSON at the address `alloc` returned and calls the hook; the result packs the
//! output JSON's address (high 32 bits) and length (low 32 bits).
#![forbid(unsafe_code)]

mod error;
pub mod examples;
pub mod hooks;
mod host;
mod limits;
mod manifest;
pub mod package;
mod permissions;
pub mod service;

pub use error::PluginError;
pub use hooks::Hook;
pub use host::{Host, Plugin};
pub use limits::Limits;
pub use manifest::{check_webhook_url, valid_name, Manifest, ManifestError};
pub use package::{Package, PackageError};
pub use permissions::Permission;
pub use service::PluginService;
