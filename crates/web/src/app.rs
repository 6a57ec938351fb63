//! The application state and the router that ties every route together.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use storefort_core::money::Currency;
use storefort_store::Db;

use crate::{api, card_guard, middleware, pages};

/// Largest request body accepted anywhere (API JSON and forms): 256 KiB.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Settings the web layer needs.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Shown in page titles and headers.
    pub shop_name: String,
    /// The shop's currency.
    pub currency: Currency,
    /// Served over HTTPS (directly or via a trusted proxy): sets HSTS and `Secure` cookies.
    pub https: bool,
    /// Proxies whose `X-Forwarded-*` headers are believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// The shop's public address (`https://shop.example`), for links in emails.
    pub public_url: String,
    /// Outgoing email; `None` means links are shown to the owner instead of emailed.
    pub smtp: Option<crate::mail::SmtpConfig>,
    /// GeoIP database for fraud screening's "IP country" signal; `None` when not configured.
    pub geoip: Option<Arc<crate::geoip::GeoIp>>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            shop_name: "storefort".into(),
            currency: Currency {
                code: "GBP",
                symbol: "£",
                exponent: 2,
            },
            https: true,
            trusted_proxies: Vec::new(),
            public_url: "https://localhost:8443".into(),
            smtp: None,
            geoip: None,
        }
    }
}

/// When each client address last had a card-number refusal audited (UTC ms).
pub type RecentRefusals = Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>;

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Web settings.
    pub cfg: Arc<WebConfig>,
    /// Card-number refusals recently audited, per address (see `card_guard`).
    pub card_refusals: RecentRefusals,
    /// The payment gateways this shop offers.
    pub gateways: Arc<storefort_payments::Gateways>,
    /// Per-address limits on orders, carts and discount codes.
    pub limits: Arc<crate::rate_limit::Limits>,
    /// Striped locks that serialise payment changes to one order in this process (the
    /// shopper's return and the gateway's webhook often arrive together).
    pub order_locks: Arc<Vec<tokio::sync::Mutex<()>>>,
    /// Backups (the admin's Backups page); `None` when the server has no `[backup]` settings.
    pub backups: Option<Arc<storefort_backup::service::BackupService>>,
    /// The shop's plugins; `None` when the server runs without them (some tests).
    pub plugins: Option<Arc<storefort_plugins::PluginService>>,
}

// By hand: the backup service holds keys and stores that have nothing useful to print.
impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db)
            .field("cfg", &self.cfg)
            .field("gateways", &self.gateways)
            .field("backups", &self.backups.is_some())
            .field("plugins", &self.plugins.is_some())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Build the state with the sandbox and manual (bank transfer) gateways.
    pub fn new(db: Db, cfg: WebConfig) -> Self {
        let gateways = storefort_payments::Gateways::new()
            .with(Arc::new(storefort_payments::SandboxGateway::new(
                db.clone(),
                cfg.public_url.clone(),
            )))
            .with(Arc::new(storefort_payments::ManualGateway::new(
                "Pay by bank transfer within 7 days, quoting your order number.".into(),
            )));
        Self::with_gateways(db, cfg, gateways)
    }

    /// Build the state with the given gateways.
    pub fn with_gateways(db: Db, cfg: WebConfig, gateways: storefort_payments::Gateways) -> Self {
        Self {
            db,
            cfg: Arc::new(cfg),
            card_refusals: Default::default(),
            gateways: Arc::new(gateways),
            limits: Default::default(),
            order_locks: Arc::new((0..64).map(|_| tokio::sync::Mutex::new(())).collect()),
            backups: None,
            plugins: None,
        }
    }

    /// The same state with the backup service (run now, check, download on the admin page).
    pub fn with_backups(mut self, svc: Arc<storefort_backup::service::BackupService>) -> Self {
        self.backups = Some(svc);
        self
    }

    /// The same state with the shop's plugins: checkout, screening and new orders call their
    /// hooks (their cart discounts already join the pricing of the database they were opened
    /// with).
    pub fn with_plugins(mut self, p: Arc<storefort_plugins::PluginService>) -> Self {
        self.plugins = Some(p);
        self
    }

    /// Hold the lock for one order's payment changes.
    pub async fn lock_order(&self, order: &str) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        order.hash(&mut h);
        let i = (h.finish() % self.order_locks.len() as u64) as usize;
        self.order_locks[i].lock().await
    }
}

/// The whole application: API, pages, static files, health, all behind the security middleware.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/api/v1", api::routes())
        .merge(crate::pos::routes())
        .merge(pages::routes())
        .merge(crate::webhooks::routes())
        .route("/healthz", axum::routing::get(health))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            card_guard::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::security,
        ))
        .with_state(state)
}

async fn health(
    axum::extract::State(s): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match sqlx::query("SELECT 1").execute(&s.db.pool).await {
        Ok(_) => (axum::http::StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "database unavailable\n",
            )
                .into_response()
        }
    }
}
