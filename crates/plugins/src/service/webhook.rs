//! Delivering `order_created` notifications: a POST of the plugin's JSON object to the address
//! the owner approved (never one the plugin chose), in the background, up to 3 tries, no
//! redirects, a 5-second timeout. A failed delivery is logged and shown on the Plugins page; it
//! does not count against the plugin (the receiving server may simply be down).

use std::time::Duration;

use serde_json::{Map, Value};

use super::PluginService;

/// Pauses before the second and third tries.
const BACKOFF: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(4)];

impl PluginService {
    pub(crate) fn deliver(&self, plugin: String, url: String, body: Map<String, Value>) {
        let Some(me) = self.me.upgrade() else { return };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(plugin = %plugin, "no runtime to deliver a plugin notification");
            return;
        };
        rt.spawn(async move {
            let mut last = String::new();
            for attempt in 0..=BACKOFF.len() {
                if attempt > 0 {
                    tokio::time::sleep(BACKOFF[attempt - 1]).await;
                }
                let sent = me
                    .http
                    .post(&url)
                    .header("X-Storefort-Plugin", &plugin)
                    .json(&body)
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {
                        metrics::counter!("storefort_plugin_webhooks_total", "outcome" => "sent")
                            .increment(1);
                        return;
                    }
                    Ok(r) => last = format!("the address answered {}", r.status()),
                    Err(e) if e.is_timeout() => last = "the address did not answer in 5 seconds".into(),
                    Err(_) => last = "the address could not be reached".into(),
                }
            }
            metrics::counter!("storefort_plugin_webhooks_total", "outcome" => "failed").increment(1);
            tracing::warn!(plugin = %plugin, error = %last, "plugin notification not delivered after 3 tries");
            let error = format!("notification not delivered: {last}");
            if let Err(e) = me.db.record_plugin_error(&plugin, &error).await {
                tracing::error!(plugin = %plugin, error = %e, "cannot record a delivery failure");
            }
        });
    }
}
