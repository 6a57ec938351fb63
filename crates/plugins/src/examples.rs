//! The example plugins in `examples/plugins/`, built into the binary so that the admin's
//! Plugins page can offer them (through the same approval as any upload) and the demo and the
//! benchmark can use them. Their sources are WebAssembly text, compiled when asked for.

use crate::{Manifest, Package, PackageError};

/// One example: its folder name and sources.
struct Source {
    name: &'static str,
    manifest: &'static str,
    wat: &'static str,
}

const SOURCES: [Source; 3] = [
    Source {
        name: "bulk-discount",
        manifest: include_str!("../../../examples/plugins/bulk-discount/manifest.json"),
        wat: include_str!("../../../examples/plugins/bulk-discount/plugin.wat"),
    },
    Source {
        name: "fraud-rule",
        manifest: include_str!("../../../examples/plugins/fraud-rule/manifest.json"),
        wat: include_str!("../../../examples/plugins/fraud-rule/plugin.wat"),
    },
    Source {
        name: "order-webhook",
        manifest: include_str!("../../../examples/plugins/order-webhook/manifest.json"),
        wat: include_str!("../../../examples/plugins/order-webhook/plugin.wat"),
    },
];

/// The examples' names.
pub fn names() -> Vec<&'static str> {
    SOURCES.iter().map(|s| s.name).collect()
}

/// An example's manifest (without its module hash) and compiled module.
pub fn parts(name: &str) -> Option<Result<(Manifest, Vec<u8>), PackageError>> {
    let s = SOURCES.iter().find(|s| s.name == name)?;
    Some((|| {
        let m: Manifest = serde_json::from_str(s.manifest)
            .map_err(|e| PackageError::NotAPackage(format!("{}: manifest.json: {e}", s.name)))?;
        let wasm = wat::parse_str(s.wat)
            .map_err(|e| PackageError::NotAPackage(format!("{}: plugin.wat: {e}", s.name)))?;
        Ok((m, wasm))
    })())
}

/// An example as a package file's bytes (`None` for an unknown name).
pub fn package(name: &str) -> Option<Result<Vec<u8>, PackageError>> {
    parts(name).map(|r| r.and_then(|(m, wasm)| Package::build(m, wasm)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_builds_into_a_valid_package() {
        for n in names() {
            let bytes = package(n).unwrap().unwrap();
            let p = Package::read(&bytes).unwrap();
            assert_eq!(p.manifest.name, n);
        }
        assert!(package("no-such-example").is_none());
    }
}
