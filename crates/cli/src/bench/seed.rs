//! Bulk catalog for the self-started benchmark shop: thousands of products in one transaction
//! with multi-row INSERTs, so 10,000 products take seconds rather than minutes.

use sqlx::{Any, Transaction};
use storefort_core::catalog::{CategoryInput, LocationInput, LocationKind};
use storefort_store::db::new_id;
use storefort_store::Db;

use crate::setup::CliResult;

/// Categories the products are spread over.
const CATEGORIES: [&str; 5] = ["Mugs", "Teapots", "Plates", "Bowls", "Vases"];
const ADJECTIVES: [&str; 8] = [
    "Blue",
    "Speckled",
    "Stoneware",
    "Matte",
    "Glazed",
    "Tall",
    "Small",
    "Rustic",
];
/// Rows per INSERT statement (well under SQLite's bound-parameter limit).
const ROWS_PER_INSERT: usize = 200;

/// What the benchmark needs to know about the seeded shop.
pub struct Seeded {
    /// Slugs of the categories, in creation order.
    pub category_slugs: Vec<String>,
    /// A read-scope API key (shown nowhere; the shop is thrown away afterwards).
    pub api_key: String,
    /// A cashier (no MFA) the login load signs in as.
    pub cashier_email: String,
    /// The cashier's generated password.
    pub cashier_password: String,
}

enum Val {
    S(String),
    I(i64),
}

/// Insert `rows` into `table (cols)` in multi-row statements.
async fn insert(
    tx: &mut Transaction<'static, Any>,
    table: &str,
    cols: &[&str],
    rows: &[Vec<Val>],
) -> CliResult<()> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| {
                let ph: Vec<String> = (0..cols.len())
                    .map(|c| format!("${}", r * cols.len() + c + 1))
                    .collect();
                format!("({})", ph.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            cols.join(", "),
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for v in chunk.iter().flatten() {
            q = match v {
                Val::S(s) => q.bind(s.clone()),
                Val::I(i) => q.bind(*i),
            };
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Seed `n` active products (one variant each, with stock) over a few categories, an owner and
/// a read API key.
pub async fn seed(db: &Db, n: usize) -> CliResult<Seeded> {
    let tax = db.default_tax_class().await?;
    let location = db
        .create_location(LocationInput {
            name: "Warehouse".into(),
            kind: LocationKind::Warehouse,
        })
        .await?;
    let mut categories = Vec::new();
    for (i, name) in CATEGORIES.iter().enumerate() {
        let input = CategoryInput {
            name: (*name).into(),
            slug: None,
            position: i as i64,
        };
        categories.push(db.create_category(input).await?);
    }
    let now = db.now();
    let (mut products, mut variants, mut stock) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for i in 0..n {
        let cat = &categories[i % categories.len()];
        let name = format!(
            "{} {} {i:05}",
            ADJECTIVES[(i / categories.len()) % ADJECTIVES.len()],
            cat.name.trim_end_matches('s')
        );
        let (pid, vid) = (new_id(), new_id());
        products.push(vec![
            Val::S(pid.clone()),
            Val::S(name.clone()),
            Val::S(format!("bench-product-{i:05}")),
            Val::S(format!("{name}, made for the storefort benchmark.")),
            Val::S(cat.id.0.clone()),
            Val::S(tax.id.0.clone()),
            Val::S("active".into()),
            Val::S(name.to_lowercase()),
            Val::I(now),
            Val::I(now),
        ]);
        variants.push(vec![
            Val::S(vid.clone()),
            Val::S(pid),
            Val::S(format!("BENCH-{i:05}")),
            Val::S("{}".into()),
            Val::I(500 + (i as i64 * 37) % 5000),
            Val::I(now),
            Val::I(now),
        ]);
        stock.push(vec![
            Val::S(vid),
            Val::S(location.id.0.clone()),
            Val::I((i % 50) as i64),
            Val::I(now),
        ]);
    }
    let mut tx = db.pool.begin().await?;
    let pcols = [
        "id",
        "name",
        "slug",
        "description",
        "category_id",
        "tax_class_id",
        "status",
        "search_text",
        "created_at",
        "updated_at",
    ];
    insert(&mut tx, "products", &pcols, &products).await?;
    insert(
        &mut tx,
        "variants",
        &[
            "id",
            "product_id",
            "sku",
            "options",
            "price_minor",
            "created_at",
            "updated_at",
        ],
        &variants,
    )
    .await?;
    insert(
        &mut tx,
        "stock_levels",
        &["variant_id", "location_id", "quantity", "updated_at"],
        &stock,
    )
    .await?;
    tx.commit().await?;

    // The owner never signs in; the generated password is thrown away with the shop.
    let owner_email = "bench-owner@storefort.test";
    crate::setup::create_owner(db, owner_email, "Bench Owner", "storefort bench").await?;
    let owner = db
        .user_by_email(owner_email)
        .await?
        .ok_or("the bench owner was not created")?;
    let (api_key, _) = storefort_web::auth::create_api_key(db, "bench", "read", &owner).await?;
    let cashier_email = "bench-cashier@storefort.test".to_string();
    let cashier_password = storefort_crypto::password::generate();
    let score = storefort_crypto::password::check_policy(&cashier_password, &[])?;
    let hash = {
        let pw = cashier_password.clone();
        tokio::task::spawn_blocking(move || storefort_crypto::password::hash(&pw)).await??
    };
    db.create_user(&cashier_email, "Bench Cashier", "cashier", &hash, score)
        .await?;
    Ok(Seeded {
        category_slugs: categories.into_iter().map(|c| c.slug).collect(),
        api_key,
        cashier_email,
        cashier_password,
    })
}
