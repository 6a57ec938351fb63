//! One suite, both engines: every test runs on SQLite and (when configured) PostgreSQL.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use storefort_core::catalog::{
    CategoryInput, LocationInput, LocationKind, ProductInput, ProductPatch, ProductStatus,
    VariantInput, VariantPatch,
};
use storefort_core::stock::Reason;
use storefort_store::auth::Stage;
use storefort_store::products::ProductFilter;
use storefort_store::stock::Change;
use storefort_store::{Clock, Db, ManualClock, StoreError};

fn variant(sku: &str, barcode: Option<&str>, price: i64) -> VariantInput {
    VariantInput {
        sku: sku.into(),
        barcode: barcode.map(Into::into),
        options: BTreeMap::new(),
        price_minor: price,
    }
}

async fn product(
    db: &Db,
    name: &str,
    sku: &str,
    backorder: bool,
) -> storefort_core::model::Product {
    db.create_product(ProductInput {
        name: name.into(),
        allow_backorder: backorder,
        variants: vec![variant(sku, None, 1000)],
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn location(db: &Db, name: &str) -> String {
    db.create_location(LocationInput {
        name: name.into(),
        kind: LocationKind::Warehouse,
    })
    .await
    .unwrap()
    .id
    .0
}

fn change<'a>(v: &'a str, l: &'a str) -> Change<'a> {
    Change {
        variant_id: v,
        location_id: l,
        note: "",
        actor: "test",
    }
}

#[tokio::test]
async fn migrations_are_idempotent() {
    for t in common::backends().await {
        assert_eq!(t.db.migrate().await.unwrap(), 0, "{}", t.name);
        assert_eq!(
            t.db.applied_migrations().await.unwrap(),
            t.db.known_migrations(),
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn products_and_variants_round_trip() {
    for t in common::backends().await {
        let db = &t.db;
        let cat = db
            .create_category(CategoryInput {
                name: "T-Shirts".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let mut options = BTreeMap::new();
        options.insert("Size".to_string(), "M".to_string());
        let p = db
            .create_product(ProductInput {
                name: "Organic Tee".into(),
                category_id: Some(cat.id.clone()),
                variants: vec![
                    VariantInput {
                        options,
                        ..variant("TEE-M", Some("4006381333931"), 1999)
                    },
                    variant("TEE-L", None, 2199),
                ],
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(p.slug, "organic-tee", "{}", t.name);
        assert_eq!(p.variants.len(), 2);
        assert_eq!(p.variants[0].title(), "M");
        assert_eq!(p.price_range(), Some((1999, 2199)));

        let p2 = db
            .update_product(
                p.id.as_str(),
                ProductPatch {
                    name: Some("Organic Tee II".into()),
                    category_id: Some(None),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(p2.name, "Organic Tee II");
        assert_eq!(p2.category_id, None);
        let v = db
            .update_variant(
                p.variants[1].id.as_str(),
                VariantPatch {
                    price_minor: Some(2500),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(v.price_minor, 2500);
        assert_eq!(
            db.variant_by_code("4006381333931").await.unwrap().sku,
            "TEE-M"
        );

        let archived = db.archive_product(p.id.as_str()).await.unwrap();
        assert_eq!(archived.status, ProductStatus::Archived);
        let listed = db
            .list_products(&ProductFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            listed.items.is_empty(),
            "archived products are not listed by default ({})",
            t.name
        );
    }
}

#[tokio::test]
async fn duplicate_sku_or_barcode_is_a_named_conflict_and_changes_nothing() {
    for t in common::backends().await {
        let db = &t.db;
        let p = db
            .create_product(ProductInput {
                name: "A".into(),
                variants: vec![variant("SKU-1", Some("4006381333931"), 100)],
                ..Default::default()
            })
            .await
            .unwrap();
        let dup_sku = db
            .create_product(ProductInput {
                name: "B".into(),
                variants: vec![variant("SKU-1", None, 100)],
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&dup_sku, StoreError::Conflict { field } if field == "sku"),
            "{}: {dup_sku:?}",
            t.name
        );
        let dup_bar = db
            .add_variant(p.id.as_str(), variant("SKU-2", Some("4006381333931"), 100))
            .await
            .unwrap_err();
        assert!(
            matches!(&dup_bar, StoreError::Conflict { field } if field == "barcode"),
            "{}: {dup_bar:?}",
            t.name
        );
        assert_eq!(
            db.count_products().await.unwrap(),
            1,
            "the failed product was rolled back ({})",
            t.name
        );
        assert_eq!(db.product(p.id.as_str()).await.unwrap().variants.len(), 1);
        let unknown = db
            .product("0190f0a0-0000-7000-8000-000000000000")
            .await
            .unwrap_err();
        assert!(matches!(unknown, StoreError::NotFound { .. }));
        let bad_cat = db
            .create_product(ProductInput {
                name: "C".into(),
                category_id: Some("nope".to_string().into()),
                variants: vec![variant("SKU-3", None, 1)],
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(bad_cat, StoreError::Invalid(e) if e.field == "category_id"));
    }
}

#[tokio::test]
async fn listing_paginates_filters_and_searches() {
    for t in common::backends().await {
        let db = &t.db;
        let cat = db
            .create_category(CategoryInput {
                name: "Mugs".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        for i in 0..25 {
            db.create_product(ProductInput {
                name: format!("Item {i:02} 100%_cotton"),
                category_id: (i % 5 == 0).then(|| cat.id.clone()),
                variants: vec![variant(&format!("SKU-{i}"), None, 100 + i)],
                ..Default::default()
            })
            .await
            .unwrap();
        }
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = db
                .list_products(&ProductFilter {
                    limit: 10,
                    cursor: cursor.clone(),
                    ..Default::default()
                })
                .await
                .unwrap();
            seen.extend(page.items.iter().map(|p| p.name.clone()));
            match page.next_cursor.clone() {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen.len(), 25, "{}", t.name);
        let f = ProductFilter {
            limit: 100,
            ..Default::default()
        };
        let before = db.list_products(&f).await.unwrap();
        db.create_product(ProductInput {
            name: "Fresh".into(),
            variants: vec![variant("FRESH", None, 1)],
            ..Default::default()
        })
        .await
        .unwrap();
        let after = db.list_products(&f).await.unwrap();
        assert_eq!(
            after.items.len(),
            before.items.len() + 1,
            "a write drops cached listings ({})",
            t.name
        );
        let v = after.items.last().unwrap().variants[0].id.0.clone();
        let loc = location(db, "Cache check").await;
        db.adjust_stock(&change(&v, &loc), 3, Reason::Received)
            .await
            .unwrap();
        let again = db.list_products(&f).await.unwrap();
        assert_eq!(
            again.items.last().unwrap().variants[0].available,
            3,
            "stock changes show at once"
        );
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted, "creation order");

        let in_cat = db
            .list_products(&ProductFilter {
                limit: 100,
                category_id: Some(cat.id.0.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(in_cat.items.len(), 5);
        let by_name = db
            .list_products(&ProductFilter {
                limit: 100,
                q: Some("item 07".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            by_name.items.len(),
            1,
            "case-insensitive name search ({})",
            t.name
        );
        let by_sku = db
            .list_products(&ProductFilter {
                limit: 100,
                q: Some("SKU-13".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(by_sku.items[0].name, "Item 13 100%_cotton");
        let wildcard = db
            .list_products(&ProductFilter {
                limit: 100,
                q: Some("%".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            wildcard.items.len(),
            25,
            "% is literal and every name contains it"
        );
        let underscore = db
            .list_products(&ProductFilter {
                limit: 100,
                q: Some("0_c".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            underscore.items.len(),
            0,
            "_ is literal, not a wildcard ({})",
            t.name
        );
        let bad = db
            .list_products(&ProductFilter {
                limit: 10,
                cursor: Some("garbage".into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(bad, StoreError::Invalid(e) if e.field == "cursor"));
        let bad = db
            .list_products(&ProductFilter {
                limit: 0,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(bad, StoreError::Invalid(e) if e.field == "limit"));
    }
}

#[tokio::test]
async fn stock_moves_through_the_ledger() {
    for t in common::backends().await {
        let db = &t.db;
        let p = product(db, "Mug", "MUG", false).await;
        let v = p.variants[0].id.0.clone();
        let web = location(db, "Web warehouse").await;
        let shop = location(db, "High Street shop").await;
        db.adjust_stock(&change(&v, &web), 10, Reason::Received)
            .await
            .unwrap();
        let err = db
            .adjust_stock(&change(&v, &web), -11, Reason::Damaged)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Invalid(e) if e.field == "quantity"),
            "{}",
            t.name
        );
        let (out, inn) = db
            .transfer_stock(&change(&v, &web), &shop, 4)
            .await
            .unwrap();
        assert_eq!((out.quantity_after, inn.quantity_after), (6, 4));
        assert_eq!(out.transfer_id, inn.transfer_id);
        assert!(
            db.transfer_stock(&change(&v, &web), &shop, 7)
                .await
                .is_err(),
            "cannot move more than is there"
        );
        let counted = db.count_stock(&change(&v, &shop), 3).await.unwrap();
        assert_eq!((counted.delta, counted.quantity_after), (-1, 3));
        let levels = db.stock_levels(&v).await.unwrap();
        let q: Vec<i64> = levels.iter().map(|l| l.quantity).collect();
        assert_eq!(q, vec![3, 6], "High Street then Web, by name ({})", t.name);
        assert_eq!(db.variant(&v).await.unwrap().available, 9);
        let ledger = db.movements(&v, None, 2).await.unwrap();
        assert_eq!(ledger.items[0].reason, Reason::Count, "newest first");
        let rest = db
            .movements(&v, ledger.next_cursor.as_deref(), 10)
            .await
            .unwrap();
        assert_eq!(ledger.items.len() + rest.items.len(), 4);
        let sum: i64 = ledger
            .items
            .iter()
            .chain(&rest.items)
            .map(|m| m.delta)
            .sum();
        assert_eq!(sum, 9, "the ledger sums to what is on hand");
        let bad_loc = db
            .adjust_stock(
                &change(&v, "0190f0a0-0000-7000-8000-000000000000"),
                1,
                Reason::Received,
            )
            .await
            .unwrap_err();
        assert!(matches!(
            bad_loc,
            StoreError::NotFound {
                what: "location",
                ..
            }
        ));
        let bo = product(db, "Preorder", "PRE", true).await;
        let m = db
            .sell(&change(bo.variants[0].id.as_str(), &web), 2)
            .await
            .unwrap();
        assert_eq!(m.quantity_after, -2, "backorders may go negative");
    }
}

#[tokio::test]
async fn two_hundred_buyers_for_fifty_units() {
    for t in common::backends().await {
        let db = t.db.clone();
        let p = product(&db, "Limited", "LTD", false).await;
        let v = p.variants[0].id.0.clone();
        let loc = location(&db, "Shop").await;
        db.adjust_stock(&change(&v, &loc), 50, Reason::Received)
            .await
            .unwrap();
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let (db, v, loc) = (db.clone(), v.clone(), loc.clone());
                tokio::spawn(async move { db.sell(&change(&v, &loc), 1).await })
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(StoreError::Invalid(e)) => assert_eq!(e.field, "quantity"),
                Err(other) => panic!("{}: unexpected {other:?}", t.name),
            }
        }
        assert_eq!(ok, 50, "{}", t.name);
        assert_eq!(db.variant(&v).await.unwrap().available, 0);
        let ledger = db.movements(&v, None, 100).await.unwrap();
        assert_eq!(
            ledger
                .items
                .iter()
                .filter(|m| m.reason == Reason::Sale)
                .count(),
            50
        );
    }
}

#[tokio::test]
async fn sessions_expire_and_keys_revoke() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = &t.db;
        let u = db
            .create_user("Owner@Example.com", "Owner", "owner", "$argon2id$x", 4)
            .await
            .unwrap();
        assert_eq!(u.email, "owner@example.com");
        let dup = db
            .create_user("owner@example.com", "X", "owner", "h", 4)
            .await
            .unwrap_err();
        assert!(
            matches!(dup, StoreError::Conflict { field } if field == "email"),
            "{}",
            t.name
        );
        db.create_session(
            u.id.as_str(),
            "hash-1",
            "csrf",
            Stage::Full,
            "127.0.0.1",
            "test",
        )
        .await
        .unwrap();
        assert!(db.touch_session("hash-1").await.unwrap().is_some());
        clock.advance(14 * 60 * 1000);
        assert!(
            db.touch_session("hash-1").await.unwrap().is_some(),
            "still active at 14 minutes"
        );
        clock.advance(16 * 60 * 1000);
        assert!(
            db.touch_session("hash-1").await.unwrap().is_none(),
            "idle 16 minutes: gone"
        );
        db.create_session(u.id.as_str(), "hash-2", "csrf", Stage::Full, "", "")
            .await
            .unwrap();
        db.set_password(u.id.as_str(), "$argon2id$y", 4)
            .await
            .unwrap();
        assert!(
            db.touch_session("hash-2").await.unwrap().is_none(),
            "password change ends sessions"
        );

        let k = db
            .create_api_key("ERP", "sf_abc", "khash", "read", u.id.as_str())
            .await
            .unwrap();
        assert_eq!(k.last_used_at, None);
        assert!(db.api_key_by_hash("khash").await.unwrap().is_some());
        let listed = db.api_keys().await.unwrap();
        assert_eq!(
            listed[0].last_used_at,
            Some(clock.now_ms()),
            "use is recorded ({})",
            t.name
        );
        db.revoke_api_key(k.id.as_str()).await.unwrap();
        assert!(db.api_key_by_hash("khash").await.unwrap().is_none());
        assert!(db
            .create_api_key("X", "p", "h2", "admin", u.id.as_str())
            .await
            .is_err());
    }
}
