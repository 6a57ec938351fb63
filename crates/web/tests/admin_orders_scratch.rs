mod admin_customers_support;
mod admin_orders_support;
mod common;
mod staff_support;
use admin_customers_support::owner;
use admin_orders_support::*;
#[tokio::test]
async fn dump() {
    let t = common::app().await;
    let o = paid_order(&t, "ann@example.com", 2).await;
    let ow = owner(&t).await;
    staff_support::reauth(&t, &ow.cookie).await;
    ow.post(&t, &o.action("refund"), &[("amount", "10"), ("restock_0", "1"), ("reason", "damaged")]).await;
    std::fs::write("/tmp/x/order.html", ow.get(&t, &o.page()).await.body).unwrap();
    std::fs::write("/tmp/x/list.html", ow.get(&t, "/admin/orders").await.body).unwrap();
    ow.post(&t, "/admin/checkout-settings/discounts", &[("code","A1"),("kind","fixed"),("value","5"),("usage_limit","3"),("enabled","on")]).await;
    std::fs::write("/tmp/x/settings.html", ow.get(&t, "/admin/checkout-settings").await.body).unwrap();
}
