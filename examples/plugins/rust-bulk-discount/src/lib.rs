//! rust-bulk-discount: 10% off the goods when the cart holds 10 or more items in all; the same
//! rule as the `bulk-discount` example written in WebAssembly text.
//!
//! Build: `cargo build --release --target wasm32-unknown-unknown`; the module is
//! `target/wasm32-unknown-unknown/release/rust_bulk_discount.wasm`.
// `deny`, not `forbid`: the exports need `#[unsafe(no_mangle)]`, which the macros allow.
#![deny(unsafe_code)]

use storefort_plugin_guest::{CartAdjustInput, CartAdjustOutput, Discount};

/// The label the shopper sees on the discount line.
const LABEL: &str = "Bulk discount: 10% off 10 or more items";

/// One discount of goods_minor / 10 (rounded down) for 10 or more items, else none. No discount
/// either when that would be 0: the shop refuses a discount of 0.
fn bulk_discount(input: CartAdjustInput) -> CartAdjustOutput {
    let items = input
        .cart
        .lines
        .iter()
        .fold(0i64, |n, line| n.saturating_add(line.quantity));
    let amount_minor = input.cart.goods_minor / 10;
    let mut out = CartAdjustOutput::default();
    if items >= 10 && amount_minor > 0 {
        out.discounts.push(Discount {
            label: LABEL.to_string(),
            amount_minor,
        });
    }
    out
}

storefort_plugin_guest::export_alloc!();
storefort_plugin_guest::export_hook!(cart_adjust_v1, bulk_discount);
