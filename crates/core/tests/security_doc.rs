//! docs/SECURITY.md prints the permission matrix for merchants; this keeps it true.

use storefort_core::access::{Permission, Role};

#[test]
fn the_documented_matrix_matches_the_code() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/SECURITY.md"
    ))
    .expect("docs/SECURITY.md");
    for p in Permission::ALL {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| {} ", p.describe())))
            .unwrap_or_else(|| panic!("no row for {:?} ({})", p, p.describe()));
        let cells: Vec<&str> = row
            .split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(cells.len(), 4, "{row}");
        for (i, role) in [Role::Owner, Role::Manager, Role::Cashier]
            .into_iter()
            .enumerate()
        {
            let want = if role.allows(p) { "yes" } else { "no" };
            assert_eq!(cells[i + 1], want, "{:?} for {role}: {row}", p);
        }
    }
}
