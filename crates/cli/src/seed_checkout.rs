//! The demo shop's checkout settings: UK shop with tax-inclusive prices selling from the web
//! warehouse, three delivery options, a welcome discount code and a few destination tax rates.

use storefort_core::pricing::{DiscountCode, DiscountKind, ShippingKind, ShippingMethod};
use storefort_store::shop_settings::{ShopSettings, TaxRate};
use storefort_store::Db;

use crate::setup::CliResult;

/// The demo's discount code.
pub const DEMO_CODE: &str = "WELCOME10";

/// Create the demo's checkout settings (once).
pub async fn demo_checkout(db: &Db) -> CliResult<()> {
    if !db.shipping_methods(false).await?.is_empty() {
        return Ok(());
    }
    let web = db
        .locations()
        .await?
        .into_iter()
        .find(|l| l.name == "Web warehouse")
        .map(|l| l.id.0);
    db.set_shop_settings(&ShopSettings {
        country: "GB".into(),
        prices_include_tax: true,
        online_location_id: web,
    })
    .await?;
    let method = |name: &str, kind, amount, threshold| ShippingMethod {
        id: String::new(),
        name: name.into(),
        kind,
        amount_minor: amount,
        threshold_minor: threshold,
        enabled: true,
    };
    for m in [
        method(
            "Standard delivery, free over £50",
            ShippingKind::FreeOver,
            395,
            Some(5000),
        ),
        method("Express delivery", ShippingKind::Flat, 995, None),
        method(
            "Collect from the High Street shop",
            ShippingKind::Pickup,
            0,
            None,
        ),
    ] {
        db.create_shipping_method(&m).await?;
    }
    db.create_discount_code(&DiscountCode {
        id: String::new(),
        code: DEMO_CODE.into(),
        kind: DiscountKind::Percent,
        value: 1000,
        min_spend_minor: 2000,
        expires_at: None,
        usage_limit: Some(1000),
        used_count: 0,
        enabled: true,
    })
    .await?;
    let standard = db.default_tax_class().await?.id.0;
    for (country, rate_bp) in [("DE", 1900), ("FR", 2000), ("IE", 2300), ("US", 0)] {
        db.set_tax_rate(&TaxRate {
            tax_class_id: standard.clone(),
            country: country.into(),
            rate_bp,
        })
        .await?;
    }
    Ok(())
}
