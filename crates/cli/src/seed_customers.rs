//! The demo shop's customers: a few people with addresses and orders, so the Customers page has
//! something to show. Made through the store like real ones, so their personal data is stored
//! encrypted. Addresses use reserved example data (Ofcom drama numbers, example.com).

use storefort_core::customer::{Address, NewCustomer, NewOrder};
use storefort_store::Db;

use crate::setup::CliResult;

/// Name, email, phone, town, postcode, street, and order totals in minor units.
type Person = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [i64],
);

const PEOPLE: [Person; 4] = [
    (
        "Ada Lovelace",
        "ada@example.com",
        "+44 7700 900123",
        "London",
        "SW1A 1AA",
        "12 St James's Square",
        &[4_598, 12_000],
    ),
    (
        "Grace Hopper",
        "grace@example.com",
        "+44 7700 900456",
        "Leeds",
        "LS1 4AP",
        "3 Park Row",
        &[2_499],
    ),
    (
        "Alan Turing",
        "alan@example.com",
        "+44 7700 900789",
        "Manchester",
        "M1 1AE",
        "1 Portland Street",
        &[],
    ),
    (
        "Katherine Johnson",
        "katherine@example.com",
        "",
        "Bristol",
        "BS1 4DJ",
        "8 Quay Street",
        &[8_999],
    ),
];

/// Add the demo customers (once: skipped when the first one exists).
pub async fn demo_customers(db: &Db) -> CliResult<()> {
    if db.customer_by_email(PEOPLE[0].1).await?.is_some() {
        return Ok(());
    }
    for (name, email, phone, city, postcode, line1, orders) in PEOPLE {
        let c = db
            .create_customer(
                &NewCustomer {
                    name: name.into(),
                    email: email.into(),
                    phone: phone.into(),
                    marketing_consent: orders.len() > 1,
                    note: String::new(),
                },
                None,
            )
            .await?;
        let address = Address {
            name: name.into(),
            line1: line1.into(),
            city: city.into(),
            postcode: postcode.into(),
            country: "GB".into(),
            ..Default::default()
        };
        db.add_address(&c.id, "Home", &address).await?;
        for total in orders.iter() {
            db.create_order(&NewOrder {
                customer_id: c.id.clone(),
                status: "paid".into(),
                currency: "GBP".into(),
                total_minor: *total,
                email: email.into(),
                phone: phone.into(),
                billing: address.clone(),
                shipping: Some(address.clone()),
            })
            .await?;
        }
    }
    Ok(())
}
