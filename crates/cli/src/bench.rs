//! `storefort bench catalog` (being written).

use crate::cli::BenchCatalogArgs;
use crate::setup::CliResult;

/// Run the catalog benchmark.
pub async fn catalog(_a: &BenchCatalogArgs) -> CliResult<()> {
    Err("bench is not built yet".into())
}
