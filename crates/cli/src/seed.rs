//! The demo shop's catalog: 60 products in 8 categories with sizes and colours, EAN-13
//! barcodes, two locations with stock. Deterministic, so every demo looks the same.

use std::collections::BTreeMap;

use storefort_core::catalog::{
    CategoryInput, LocationInput, LocationKind, ProductInput, VariantInput,
};
use storefort_core::stock::Reason;
use storefort_core::text::gtin_check_digit;
use storefort_store::stock::Change;
use storefort_store::Db;

use crate::setup::CliResult;

struct Kind {
    category: &'static str,
    code: &'static str,
    noun: &'static str,
    price: i64,
    options: &'static [(&'static str, &'static [&'static str])],
    blurb: &'static str,
}

const COLOURS: &[&str] = &["Navy", "Forest", "Oatmeal", "Charcoal", "Rust", "Sky"];

const KINDS: &[Kind] = &[
    Kind {
        category: "T-Shirts",
        code: "TS",
        noun: "Tee",
        price: 1800,
        options: &[("Size", &["S", "M", "L", "XL"]), ("Colour", &[])],
        blurb: "Soft organic cotton, cut for everyday wear.",
    },
    Kind {
        category: "Hoodies",
        code: "HD",
        noun: "Hoodie",
        price: 4200,
        options: &[("Size", &["S", "M", "L", "XL"]), ("Colour", &[])],
        blurb: "Brushed-back fleece with a roomy hood and kangaroo pocket.",
    },
    Kind {
        category: "Caps",
        code: "CP",
        noun: "Cap",
        price: 1500,
        options: &[("Colour", &[])],
        blurb: "Six-panel cap with an adjustable strap.",
    },
    Kind {
        category: "Socks",
        code: "SK",
        noun: "Socks",
        price: 800,
        options: &[("Size", &["4-7", "8-11"]), ("Colour", &[])],
        blurb: "Cushioned sole, reinforced heel and toe.",
    },
    Kind {
        category: "Mugs",
        code: "MG",
        noun: "Mug",
        price: 1100,
        options: &[("Colour", &[])],
        blurb: "Stoneware, 350 ml, dishwasher safe.",
    },
    Kind {
        category: "Posters",
        code: "PS",
        noun: "Print",
        price: 2000,
        options: &[("Size", &["A3", "A2"])],
        blurb: "Giclée print on 200 gsm matte paper.",
    },
    Kind {
        category: "Notebooks",
        code: "NB",
        noun: "Notebook",
        price: 900,
        options: &[("Ruling", &["Lined", "Plain", "Dotted"])],
        blurb: "A5, 160 pages of 100 gsm paper, lay-flat binding.",
    },
    Kind {
        category: "Tote Bags",
        code: "TB",
        noun: "Tote",
        price: 1400,
        options: &[],
        blurb: "Heavy canvas with long handles and an inside pocket.",
    },
];

const NAMES: &[&str] = &[
    "Harbour", "Meadow", "Granite", "Saffron", "Midnight", "Seaside", "Orchard", "Heritage",
];

/// Products per category: 8 for the first four, 7 for the rest (60 in all).
fn per_category(i: usize) -> usize {
    if i < 4 {
        8
    } else {
        7
    }
}

/// An EAN-13 in the GS1 UK range with a valid check digit.
fn ean13(n: u64) -> String {
    let body = format!("50{:010}", 1_000_000 + n);
    format!("{body}{}", gtin_check_digit(&body))
}

/// Every combination of the kind's options for product `p` (colours rotate per product).
fn combinations(kind: &Kind, p: usize) -> Vec<BTreeMap<String, String>> {
    let mut out = vec![BTreeMap::new()];
    for (name, values) in kind.options {
        let values: Vec<&str> = if values.is_empty() {
            let n = if kind.options.len() == 1 { 3 } else { 2 };
            (0..n)
                .map(|k| COLOURS[(p + k * 2) % COLOURS.len()])
                .collect()
        } else {
            values.to_vec()
        };
        out = out
            .into_iter()
            .flat_map(|base| {
                values.iter().map(move |v| {
                    let mut m = base.clone();
                    m.insert(name.to_string(), v.to_string());
                    m
                })
            })
            .collect();
    }
    out
}

/// Create the demo catalog, locations and stock.
pub async fn demo(db: &Db) -> CliResult<()> {
    db.default_tax_class().await?;
    let web = db
        .create_location(LocationInput {
            name: "Web warehouse".into(),
            kind: LocationKind::Warehouse,
        })
        .await?;
    let shop = db
        .create_location(LocationInput {
            name: "High Street shop".into(),
            kind: LocationKind::Shop,
        })
        .await?;
    let mut barcode = 0u64;
    for (ci, kind) in KINDS.iter().enumerate() {
        let cat = db
            .create_category(CategoryInput {
                name: kind.category.into(),
                slug: None,
                position: ci as i64,
            })
            .await?;
        for (p, name) in NAMES.iter().enumerate().take(per_category(ci)) {
            let variants = combinations(kind, p)
                .into_iter()
                .map(|options| {
                    barcode += 1;
                    let suffix: Vec<String> = options
                        .values()
                        .map(|v| v.to_uppercase().replace(' ', ""))
                        .collect();
                    let sku = [format!("{}-{:02}", kind.code, p + 1)]
                        .into_iter()
                        .chain(suffix)
                        .collect::<Vec<_>>()
                        .join("-");
                    let bump = if options.get("Size").is_some_and(|s| s == "XL" || s == "A2") {
                        300
                    } else {
                        0
                    };
                    VariantInput {
                        sku,
                        barcode: Some(ean13(barcode)),
                        options,
                        price_minor: kind.price + (p as i64 % 3) * 200 + bump,
                    }
                })
                .collect();
            let product = db
                .create_product(ProductInput {
                    name: format!("{name} {}", kind.noun),
                    description: format!(
                        "{} The {name} design, made in small batches.",
                        kind.blurb
                    ),
                    category_id: Some(cat.id.clone()),
                    allow_backorder: p == 7,
                    variants,
                    ..Default::default()
                })
                .await?;
            for (vi, v) in product.variants.iter().enumerate() {
                // A spread of stock: plenty, a few left, and the odd sell-out.
                let at_web = ((ci * 7 + p * 5 + vi * 3) % 24) as i64;
                let at_shop = ((ci * 3 + p * 2 + vi) % 9) as i64;
                for (loc, qty) in [(&web.id, at_web), (&shop.id, at_shop)] {
                    if qty > 0 {
                        let c = Change {
                            variant_id: v.id.as_str(),
                            location_id: loc.as_str(),
                            note: "Opening stock",
                            actor: "demo",
                        };
                        db.adjust_stock(&c, qty, Reason::Received).await?;
                    }
                }
            }
        }
    }
    dog_polisher(db, &web.id, KINDS.len() as i64).await
}

/// The shop's most expensive item, well stocked: the fraud seed's "12 of your most expensive
/// Dog Polishers" shipped to another address can be tried on the demo (it is held for a call).
async fn dog_polisher(
    db: &Db,
    web: &storefort_core::ids::LocationId,
    position: i64,
) -> CliResult<()> {
    let cat = db
        .create_category(CategoryInput {
            name: "Pet care".into(),
            slug: None,
            position,
        })
        .await?;
    let product = db
        .create_product(ProductInput {
            name: "Deluxe Dog Polisher".into(),
            description: "A cordless polisher with three soft brushes that leaves any dog \
                          gleaming. Our most expensive item."
                .into(),
            category_id: Some(cat.id.clone()),
            variants: vec![VariantInput {
                sku: "PET-01".into(),
                barcode: Some(ean13(9_000)),
                options: Default::default(),
                price_minor: 18_900,
            }],
            ..Default::default()
        })
        .await?;
    for v in &product.variants {
        let c = Change {
            variant_id: v.id.as_str(),
            location_id: web.as_str(),
            note: "Opening stock",
            actor: "demo",
        };
        db.adjust_stock(&c, 40, Reason::Received).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barcodes_are_valid_and_unique() {
        let a = ean13(1);
        assert_eq!(a.len(), 13);
        assert!(storefort_core::text::barcode(&a).unwrap().is_some());
        assert_ne!(ean13(1), ean13(2));
        let total: usize = (0..KINDS.len()).map(per_category).sum();
        assert_eq!(total, 60);
        assert_eq!(combinations(&KINDS[0], 0).len(), 8, "4 sizes x 2 colours");
        assert_eq!(
            combinations(&KINDS[7], 0).len(),
            1,
            "a tote has one variant"
        );
    }
}
