//! Prometheus metrics, served on a separate listener bound to loopback.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Install the process-wide recorder (once) and return a handle that renders the metrics text.
pub fn handle() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .clone()
}

/// Count a finished request and its duration.
pub fn record(method: &str, status: u16, elapsed: Duration) {
    let class = match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::counter!("storefort_http_requests_total", "method" => method.to_string(), "status" => class).increment(1);
    metrics::histogram!("storefort_http_request_duration_seconds").record(elapsed.as_secs_f64());
}

/// The router for the metrics listener: `GET /metrics`.
pub fn router() -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            match handle() {
                Some(h) => h.render(),
                None => "# metrics recorder unavailable\n".to_string(),
            }
        }),
    )
}
