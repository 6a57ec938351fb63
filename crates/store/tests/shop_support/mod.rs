//! A one-product shop for store tests: a product with stock at one location, a flat shipping
//! method, checkout input and carts.
#![allow(dead_code)]

use std::collections::BTreeMap;

use storefort_core::catalog::{LocationInput, LocationKind, ProductInput, VariantInput};
use storefort_core::checkout::CheckoutInput;
use storefort_core::customer::Address;
use storefort_core::pricing::{ShippingKind, ShippingMethod};
use storefort_core::stock::Reason;
use storefort_store::stock::Change;
use storefort_store::Db;

pub struct Shop {
    pub variant: String,
    pub shipping: String,
}

pub async fn shop(db: &Db, stock: i64, price: i64) -> Shop {
    let p = db
        .create_product(ProductInput {
            name: "Dog polisher".into(),
            variants: vec![VariantInput {
                sku: "DOG-1".into(),
                barcode: None,
                options: BTreeMap::new(),
                price_minor: price,
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    let loc = db
        .create_location(LocationInput {
            name: "Web".into(),
            kind: LocationKind::Warehouse,
        })
        .await
        .unwrap();
    let variant = p.variants[0].id.0.clone();
    let c = Change {
        variant_id: &variant,
        location_id: loc.id.as_str(),
        note: "",
        actor: "test",
    };
    db.adjust_stock(&c, stock, Reason::Received).await.unwrap();
    let shipping = db
        .create_shipping_method(&ShippingMethod {
            id: String::new(),
            name: "Standard".into(),
            kind: ShippingKind::Flat,
            amount_minor: 395,
            threshold_minor: None,
            enabled: true,
        })
        .await
        .unwrap()
        .id;
    Shop { variant, shipping }
}

pub fn input(shipping: &str, email: &str) -> CheckoutInput {
    CheckoutInput {
        email: email.into(),
        phone: "020 7946 0958".into(),
        billing: Address {
            name: "Ada Lovelace".into(),
            line1: "1 Analytical Row".into(),
            city: "London".into(),
            postcode: "N1 1AA".into(),
            country: "GB".into(),
            ..Default::default()
        },
        shipping_same_as_billing: true,
        shipping: None,
        shipping_method_id: shipping.into(),
        payment_method: "sandbox".into(),
    }
    .validate("GB", true)
    .unwrap()
}

pub async fn cart_with(db: &Db, s: &Shop, qty: i64) -> String {
    let (_token, cart) = db.create_cart(None).await.unwrap();
    db.cart_add(&cart.id, &s.variant, qty).await.unwrap();
    cart.id
}
