//! Helpers for writing storefort plugins in Rust, built for `wasm32-unknown-unknown`.
//!
//! The host's calling convention (ABI version 1, see `docs/PLUGINS.md`): it calls `alloc(len)`,
//! writes the input JSON at the address returned, calls `<hook>_v1(ptr, len)` and reads the
//! output JSON from the address in the result's high 32 bits (length in the low 32 bits).
//! [`alloc`] and [`run`] do that work in safe code; [`export_alloc!`] and [`export_hook!`] make
//! the exported functions in the plugin's own crate.
//!
//! ```
//! use storefort_plugin_guest::{CartAdjustInput, CartAdjustOutput};
//!
//! fn no_discount(_: CartAdjustInput) -> CartAdjustOutput {
//!     CartAdjustOutput::default()
//! }
//!
//! storefort_plugin_guest::export_alloc!();
//! storefort_plugin_guest::export_hook!(cart_adjust_v1, no_discount);
//! # let input = br#"{"version":1,"cart":{"goods_minor":0,"lines":[]}}"#;
//! # let ptr = alloc(input.len() as i32);
//! # storefort_plugin_guest::fill_input(input);
//! # let packed = cart_adjust_v1(ptr, input.len() as i32);
//! # assert_eq!(packed & 0xffff_ffff, br#"{"discounts":[]}"#.len() as i64);
//! ```
#![forbid(unsafe_code)]

use std::cell::RefCell;

use serde::de::DeserializeOwned;
use serde::Serialize;

mod hooks;

pub use hooks::*;

thread_local! {
    /// Where the host writes the input (sized by [`alloc`]).
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// Where [`run`] keeps the output until the host has read it.
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The address of `len` zeroed bytes for the host to write the input to (a negative `len`
/// counts as 0). Each call replaces the previous buffer: the host calls it once per instance.
pub fn alloc(len: i32) -> i32 {
    let len = usize::try_from(len).unwrap_or(0);
    INPUT.with(|buf| {
        let mut buf = buf.borrow_mut();
        *buf = vec![0; len];
        // On wasm32 an address fits in 32 bits; natively it is truncated and only compared.
        buf.as_mut_ptr() as usize as i32
    })
}

/// Runs one hook: reads the input JSON the host wrote at `ptr` (the buffer [`alloc`] gave,
/// `len` bytes), deserializes it, calls `f`, serializes its answer and returns
/// `(address << 32) | length` of that output, which stays in memory for the host to read.
///
/// On bad input (a `ptr` that is not the buffer, a `len` beyond it, JSON that does not
/// deserialize as `I`) or an output that cannot be serialized, it returns 0: an empty output,
/// which the host refuses as "not JSON" and so uses the hook's fallback.
pub fn run<I, O>(ptr: i32, len: i32, f: impl FnOnce(I) -> O) -> i64
where
    I: DeserializeOwned,
    O: Serialize,
{
    let input = INPUT.with(|buf| {
        let buf = buf.borrow();
        if buf.as_ptr() as usize as i32 != ptr {
            return None;
        }
        let bytes = buf.get(..usize::try_from(len).ok()?)?;
        serde_json::from_slice::<I>(bytes).ok()
    });
    // The input buffer is no longer borrowed here, so `f` may use anything in this crate.
    let Some(input) = input else { return 0 };
    let Ok(out) = serde_json::to_vec(&f(input)) else {
        return 0;
    };
    OUTPUT.with(|buf| {
        let mut buf = buf.borrow_mut();
        *buf = out;
        let addr = buf.as_ptr() as usize as u32;
        let len = buf.len() as u32;
        ((u64::from(addr) << 32) | u64::from(len)) as i64
    })
}

/// Copies `bytes` into the input buffer, as the host does after calling [`alloc`]. For
/// native tests of a plugin: on wasm32 the host writes the memory itself. Bytes beyond the
/// buffer's length are dropped.
pub fn fill_input(bytes: &[u8]) {
    INPUT.with(|buf| {
        let mut buf = buf.borrow_mut();
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
    });
}

/// A copy of the output the last [`run`] kept. For native tests of a plugin, where the
/// address in `run`'s result is truncated and cannot be read back.
pub fn last_output() -> Vec<u8> {
    OUTPUT.with(|buf| buf.borrow().clone())
}

/// Exports `alloc(len: i32) -> i32` from the plugin's crate, calling [`alloc`].
#[macro_export]
macro_rules! export_alloc {
    () => {
        /// The host's `alloc`: where it writes the input.
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn alloc(len: i32) -> i32 {
            $crate::alloc(len)
        }
    };
}

/// Exports a hook from the plugin's crate: `export_hook!(cart_adjust_v1, my_fn)` makes
/// `cart_adjust_v1(ptr: i32, len: i32) -> i64` call `my_fn` through [`run`]. `my_fn` takes
/// the hook's input type (e.g. [`CartAdjustInput`]) and returns its output type.
///
/// `#[unsafe(no_mangle)]` works in editions 2021 and 2024 alike (Rust 1.82 or later). The
/// export is `#[allow(unsafe_code)]`, so a plugin can still `#![deny(unsafe_code)]`
/// (not `forbid`, which no `allow` can lift).
#[macro_export]
macro_rules! export_hook {
    ($hook:ident, $f:path) => {
        /// The host calls this with the input's address and length.
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn $hook(ptr: i32, len: i32) -> i64 {
            $crate::run(ptr, len, $f)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the host does: alloc, write, call; then the output the hook kept.
    fn call<I: DeserializeOwned, O: Serialize>(input: &[u8], f: impl FnOnce(I) -> O) -> i64 {
        let ptr = alloc(input.len() as i32);
        fill_input(input);
        run(ptr, input.len() as i32, f)
    }

    fn bulk(i: CartAdjustInput) -> CartAdjustOutput {
        let items: i64 = i.cart.lines.iter().map(|l| l.quantity).sum();
        let mut out = CartAdjustOutput::default();
        if items >= 10 {
            out.discounts.push(Discount {
                label: "Bulk".into(),
                amount_minor: i.cart.goods_minor / 10,
            });
        }
        out
    }

    #[test]
    fn run_reads_the_input_and_packs_the_outputs_address_and_length() {
        let input = br#"{"version":1,"hook":"cart_adjust","currency":{"code":"GBP","exponent":2},
            "cart":{"lines":[{"sku":"MUG-1","name":"Mug","unit_price_minor":1200,"quantity":10}],
            "goods_minor":12000}}"#;
        let packed = call(input, bulk) as u64;
        let out = last_output();
        assert_eq!(
            out,
            br#"{"discounts":[{"label":"Bulk","amount_minor":1200}]}"#
        );
        assert_eq!(packed & 0xffff_ffff, out.len() as u64);
        let addr = OUTPUT.with(|b| b.borrow().as_ptr() as usize as u32);
        assert_eq!(packed >> 32, u64::from(addr));
    }

    #[test]
    fn alloc_gives_zeroed_room_of_the_length_asked() {
        let ptr = alloc(5);
        INPUT.with(|b| {
            assert_eq!(*b.borrow(), vec![0; 5]);
            assert_eq!(b.borrow().as_ptr() as usize as i32, ptr);
        });
        alloc(-3);
        INPUT.with(|b| assert!(b.borrow().is_empty()));
    }

    #[test]
    fn bad_input_json_gives_an_empty_output_the_host_refuses() {
        assert_eq!(call(b"{not json", bulk), 0);
        // Valid JSON of the wrong shape too: lines must be a list.
        assert_eq!(call(br#"{"cart":{"lines":7}}"#, bulk), 0);
    }

    #[test]
    fn a_wrong_address_or_length_is_refused() {
        let input = br#"{"cart":{"lines":[],"goods_minor":0}}"#;
        let ptr = alloc(input.len() as i32);
        fill_input(input);
        assert_eq!(run(ptr.wrapping_add(1), input.len() as i32, bulk), 0);
        assert_eq!(run(ptr, input.len() as i32 + 1, bulk), 0);
        assert_eq!(run(ptr, -1, bulk), 0);
        assert_ne!(run(ptr, input.len() as i32, bulk), 0);
        assert_eq!(last_output(), br#"{"discounts":[]}"#);
    }

    #[test]
    fn unknown_and_missing_input_fields_are_fine() {
        let input = br#"{"version":1,"hook":"fraud_signal","later":"field","order_number":7,
            "order":{"total_minor":50000}}"#;
        call(input, |i: OrderInput| {
            assert_eq!(i.order_number, Some(7));
            assert_eq!(i.order.as_ref().map(|o| o.total_minor), Some(50000));
            assert!(i.customer.is_none() && i.billing_country.is_empty());
            FraudOutput::default()
        });
        assert_eq!(last_output(), br#"{"signals":[]}"#);
    }
}
