//! Running the hooks: each plugin that is on and implements the hook is called in turn (in name
//! order) with the input its permissions allow. A plugin that fails is skipped with a logged
//! reason (the hook's fallback) and its failure counted; after [`MAX_FAILURES`] in a row it is
//! switched off and the owners are told.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use storefort_core::money::Currency;

use super::{Loaded, PluginService, MAX_FAILURES};
use crate::hooks::{self, Discount, LineFacts, OrderFacts, Signal};
use crate::{Hook, PluginError};

/// A plugin's name with what it returned.
pub type From<T> = (String, T);

/// Run a plugin call (CPU work of up to the deadline) so that, on a multi-threaded runtime,
/// the worker's other tasks move to another thread meanwhile.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

impl PluginService {
    fn with_hook(&self, hook: Hook) -> Vec<Arc<Loaded>> {
        self.snapshot()
            .iter()
            .filter(|l| l.hooks.contains(&hook))
            .cloned()
            .collect()
    }

    fn call<T>(
        &self,
        l: &Arc<Loaded>,
        hook: Hook,
        input: &serde_json::Value,
        check: impl FnOnce(serde_json::Value) -> Result<T, PluginError>,
    ) -> Option<T> {
        let started = std::time::Instant::now();
        let result = blocking(|| self.host.call(&l.plugin, hook.export(), input)).and_then(check);
        metrics::histogram!("storefort_plugin_call_seconds", "hook" => hook.name())
            .record(started.elapsed().as_secs_f64());
        match result {
            Ok(v) => {
                l.failures.store(0, Ordering::Relaxed);
                Some(v)
            }
            Err(e) => {
                self.failed(l, hook, &e);
                None
            }
        }
    }

    fn failed(&self, l: &Arc<Loaded>, hook: Hook, e: &PluginError) {
        let record = l.record.clone();
        let name = l.record.name.clone();
        let n = l.failures.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(plugin = %name, hook = hook.name(), failures = n, error = %e,
            "plugin failed; skipped (the hook's fallback applies)");
        metrics::counter!("storefort_plugin_failures_total", "hook" => hook.name()).increment(1);
        let Some(me) = self.me.upgrade() else { return };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let error = format!("{} hook: {e}", hook.name());
        rt.spawn(async move {
            if let Err(err) = me.db.record_plugin_error(&name, &error).await {
                tracing::error!(plugin = %name, error = %err, "cannot record a plugin failure");
            }
            if n >= MAX_FAILURES {
                let reason = format!("it failed {n} times in a row (last: {error})");
                let off = me.switch_off(&record, &reason, "plugin.disabled_after_failures");
                if let Err(err) = off.await {
                    tracing::error!(plugin = %name, error = %err, "cannot switch a failing plugin off");
                }
                if let Err(err) = me.refresh().await {
                    tracing::error!(error = %err, "cannot reload plugins");
                }
            }
        });
    }

    /// `cart_adjust`: every plugin's discount lines for a cart.
    pub fn cart_adjust(
        &self,
        lines: &[LineFacts],
        goods_minor: i64,
        currency: &Currency,
    ) -> Vec<From<Discount>> {
        let mut out = Vec::new();
        let plugins = self.with_hook(Hook::CartAdjust);
        if plugins.is_empty() || lines.is_empty() {
            return out;
        }
        let input = hooks::cart_input(lines, goods_minor, currency);
        for l in &plugins {
            if let Some(ds) = self.call(l, Hook::CartAdjust, &input, |v| {
                hooks::discounts(v, goods_minor)
            }) {
                out.extend(ds.into_iter().map(|d| (l.record.name.clone(), d)));
            }
        }
        out
    }

    /// `checkout_validate`: the first refusal (plugin and message), or `None` to go on.
    pub fn checkout_validate(
        &self,
        facts: &OrderFacts,
        currency: &Currency,
    ) -> Option<From<String>> {
        for l in &self.with_hook(Hook::CheckoutValidate) {
            let input = facts.input(Hook::CheckoutValidate, &l.granted, currency);
            if let Some(Some(message)) =
                self.call(l, Hook::CheckoutValidate, &input, hooks::verdict)
            {
                return Some((l.record.name.clone(), message));
            }
        }
        None
    }

    /// `fraud_signal`: every plugin's signals for an order being screened.
    pub fn fraud_signals(&self, facts: &OrderFacts, currency: &Currency) -> Vec<From<Signal>> {
        let mut out = Vec::new();
        for l in &self.with_hook(Hook::FraudSignal) {
            let input = facts.input(Hook::FraudSignal, &l.granted, currency);
            if let Some(s) = self.call(l, Hook::FraudSignal, &input, hooks::signals) {
                out.extend(s.into_iter().map(|s| (l.record.name.clone(), s)));
            }
        }
        out
    }

    /// `order_created`: each plugin's notification, sent in the background to its approved
    /// address. Returns how many were queued.
    pub fn order_created(&self, facts: &OrderFacts, currency: &Currency) -> usize {
        let mut queued = 0;
        for l in &self.with_hook(Hook::OrderCreated) {
            let input = facts.input(Hook::OrderCreated, &l.granted, currency);
            let Some(Some(body)) = self.call(l, Hook::OrderCreated, &input, hooks::notification)
            else {
                continue;
            };
            let Some(url) = l.record.webhook_url.clone() else {
                continue;
            };
            queued += 1;
            self.deliver(l.record.name.clone(), url, body);
        }
        queued
    }
}

/// The service as the store's cart adjuster, without keeping it alive.
pub(crate) struct WeakAdjuster(pub(crate) std::sync::Weak<PluginService>);

impl storefort_store::carts::CartAdjuster for WeakAdjuster {
    fn adjust(
        &self,
        lines: &[storefort_core::pricing::PricingLine],
        currency: &Currency,
    ) -> Vec<storefort_core::pricing::Adjustment> {
        match self.0.upgrade() {
            Some(svc) => svc.adjust(lines, currency),
            None => Vec::new(),
        }
    }
}

impl storefort_store::carts::CartAdjuster for PluginService {
    fn adjust(
        &self,
        lines: &[storefort_core::pricing::PricingLine],
        currency: &Currency,
    ) -> Vec<storefort_core::pricing::Adjustment> {
        let facts: Vec<LineFacts> = lines
            .iter()
            .map(|l| LineFacts {
                sku: l.sku.clone(),
                name: l.name.clone(),
                unit_price_minor: l.unit_price_minor,
                quantity: l.quantity,
            })
            .collect();
        let goods = lines
            .iter()
            .map(|l| l.unit_price_minor.saturating_mul(l.quantity))
            .fold(0i64, i64::saturating_add);
        self.cart_adjust(&facts, goods, currency)
            .into_iter()
            .map(|(_, d)| storefort_core::pricing::Adjustment {
                label: d.label,
                amount_minor: d.amount_minor,
            })
            .collect()
    }
}
