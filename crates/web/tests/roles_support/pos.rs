//! Till fixtures for the role walk (issue 7): a paired till with the cashier signed in on it
//! (`{till}`: sign the cashier out, new pairing code), a waiting till to revoke
//! (`{till_victim}`), an open shift on the first (`{shift}`: its Z report) and an open stock
//! alert (`{stock_alert}`: "Recounted"); and the till side of `World::snapshot`.

use sqlx::Row;
use storefort_store::Db;

use crate::common::TestApp;

/// The placeholders: `(name, ID)`.
pub async fn tills(t: &TestApp) -> Vec<(&'static str, String)> {
    let loc = t.location.id.as_str();
    let (till, code) =
        t.db.register_device("Walk till", loc, "test")
            .await
            .unwrap();
    t.db.pair_device(&code, "1.0.0").await.unwrap();
    let cashier =
        t.db.user_by_email("cashier@example.com")
            .await
            .unwrap()
            .expect("the walk's cashier");
    t.db.start_cashier(&till.id, cashier.id.as_str())
        .await
        .unwrap();
    let shift =
        t.db.open_shift(&till.id, cashier.id.as_str(), 5_000)
            .await
            .unwrap();
    let (victim, _) =
        t.db.register_device("Walk victim", loc, "test")
            .await
            .unwrap();
    // An offline oversale's alert, written directly (any order will do for the walk).
    let order: String = sqlx::query("SELECT id FROM orders ORDER BY id LIMIT 1")
        .fetch_one(&t.db.pool)
        .await
        .unwrap()
        .get(0);
    let alert = "0190f0a0-1111-7000-8000-000000000001".to_string();
    sqlx::query(
        "INSERT INTO pos_stock_alerts (id, order_id, variant_id, location_id, short_by, created_at) \
         VALUES ($1, $2, $3, $4, 2, $5)",
    )
    .bind(&alert)
    .bind(&order)
    .bind(t.product.variants[0].id.as_str())
    .bind(loc)
    .bind(t.db.now())
    .execute(&t.db.pool)
    .await
    .unwrap();
    vec![
        ("till", till.id),
        ("till_victim", victim.id),
        ("shift", shift.id),
        ("stock_alert", alert),
    ]
}

/// Everything about tills a refused request might change: devices, PINs (hashes, tries,
/// locks), shifts, stock alerts and the till settings.
pub async fn snapshot(db: &Db) -> Vec<String> {
    let mut out = Vec::new();
    for table in ["pos_devices", "pos_pins", "pos_shifts", "pos_stock_alerts"] {
        let rows = sqlx::query(&format!("SELECT * FROM {table} ORDER BY 1"))
            .fetch_all(&db.pool)
            .await
            .unwrap();
        for r in rows {
            let cells: Vec<String> = (0..r.len())
                .map(|i| match r.try_get::<Option<String>, _>(i) {
                    Ok(v) => format!("{v:?}"),
                    Err(_) => format!("{:?}", r.try_get::<Option<i64>, _>(i).unwrap()),
                })
                .collect();
            out.push(format!("{table}: {}", cells.join("|")));
        }
    }
    out.push(format!("{:?}", db.pos_settings().await.unwrap()));
    out
}
