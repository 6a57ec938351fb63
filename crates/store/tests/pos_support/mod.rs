//! Shared by the till store tests: a till with its location, cashier, manager and two items,
//! and builders for sales.

#![allow(dead_code)]

use std::collections::BTreeMap;

use storefort_core::catalog::{LocationInput, LocationKind, ProductInput, VariantInput};
use storefort_core::pos::{Discount, TenderInput};
use storefort_core::stock::Reason;
use storefort_store::pos_sales::{PosLineRequest, PosSaleInput};
use storefort_store::stock::Change;
use storefort_store::Db;

pub struct Till {
    pub device: String,
    pub location: String,
    pub cashier: String,
    pub manager: String,
    pub mug: String,
    pub tee: String,
}

pub async fn variant(
    db: &Db,
    loc: &str,
    name: &str,
    sku: &str,
    code: Option<&str>,
    price: i64,
    stock: i64,
) -> String {
    let p = db
        .create_product(ProductInput {
            name: name.into(),
            variants: vec![VariantInput {
                sku: sku.into(),
                barcode: code.map(str::to_string),
                options: BTreeMap::new(),
                price_minor: price,
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    let v = p.variants[0].id.0.clone();
    let c = Change {
        variant_id: &v,
        location_id: loc,
        note: "",
        actor: "test",
    };
    db.adjust_stock(&c, stock, Reason::Received).await.unwrap();
    v
}

/// A shop location with a paired till, a cashier, a manager, a £12.00 mug (10 in stock,
/// barcode 4006381333931) and a £5.00 tee (3 in stock). Prices include 20% tax.
pub async fn till(db: &Db) -> Till {
    let loc = db
        .create_location(LocationInput {
            name: "High Street".into(),
            kind: LocationKind::Shop,
        })
        .await
        .unwrap()
        .id
        .0;
    let cashier = db
        .create_user("cass@example.com", "Cass", "cashier", "$argon2id$x", 4)
        .await
        .unwrap()
        .id
        .0;
    let manager = db
        .create_user("max@example.com", "Max", "manager", "$argon2id$x", 4)
        .await
        .unwrap()
        .id
        .0;
    let device = storefort_store::db::new_id();
    sqlx::query(
        "INSERT INTO pos_devices (id, name, location_id, status, created_by, created_at) \
         VALUES ($1, 'Till 1', $2, 'active', 'test', 0)",
    )
    .bind(&device)
    .bind(&loc)
    .execute(&db.pool)
    .await
    .unwrap();
    let mug = variant(
        db,
        &loc,
        "Blue enamel mug",
        "MUG-BLUE",
        Some("4006381333931"),
        1200,
        10,
    )
    .await;
    let tee = variant(db, &loc, "Logo tee", "TEE-1", None, 500, 3).await;
    Till {
        device,
        location: loc,
        cashier,
        manager,
        mug,
        tee,
    }
}

pub fn line(v: &str, qty: i64) -> PosLineRequest {
    PosLineRequest {
        variant_id: v.into(),
        quantity: qty,
        discount: Discount::None,
        unit_price_minor: None,
    }
}

pub fn cash(amount: i64, tendered: i64) -> TenderInput {
    TenderInput::Cash {
        amount_minor: amount,
        tendered_minor: tendered,
    }
}

pub fn card(amount: i64, brand: &str, last4: &str) -> TenderInput {
    TenderInput::Card {
        amount_minor: amount,
        brand: brand.into(),
        last4: last4.into(),
    }
}

pub fn sale(
    t: &Till,
    key: &str,
    lines: Vec<PosLineRequest>,
    tenders: Vec<TenderInput>,
) -> PosSaleInput {
    PosSaleInput {
        sale_key: key.into(),
        device_id: t.device.clone(),
        cashier_id: t.cashier.clone(),
        approved_by: None,
        customer_id: None,
        receipt_email: None,
        lines,
        order_discount: Discount::None,
        tenders,
        expected_total_minor: None,
        offline: false,
        sold_at: 0,
        shift_id: None,
    }
}

pub async fn stock_at(db: &Db, t: &Till, v: &str) -> i64 {
    db.stock_levels(v)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.location_id.0 == t.location)
        .map_or(0, |l| l.quantity)
}

pub async fn orders(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}
