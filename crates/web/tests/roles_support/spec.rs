//! The API's operations as its OpenAPI document lists them. An operation whose security
//! requirement is the empty one (`security: [{}]`) is a shopper route: it takes no staff
//! credentials, only the token its header parameters name (`X-Cart-Token`, `X-Order-Token`),
//! or nothing at all for the few listed in `routes::TOKENLESS`.

use axum::http::StatusCode;
use serde_json::Value;

use std::collections::BTreeSet;

use super::routes::TOKENLESS;
use super::World;

const METHODS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

/// One documented operation.
#[derive(Debug, Clone)]
pub struct Op {
    /// `GET`, `POST`, ...
    pub method: String,
    /// As the document spells it (`/api/v1/orders/{id}`).
    pub path: String,
    /// Its security requirement is `[{}]`: no staff credentials.
    pub public: bool,
    /// Header parameters that carry a credential (names ending in `-Token`).
    pub token_headers: Vec<String>,
    /// The other header parameters (`Idempotency-Key`, ...).
    pub other_headers: Vec<String>,
}

/// Every operation of the document.
pub fn operations(spec: &Value) -> Vec<Op> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (m, op) in item.as_object().unwrap() {
            if !METHODS.contains(&m.as_str()) {
                continue;
            }
            let mut token_headers = Vec::new();
            let mut other_headers = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                assert!(p.get("$ref").is_none(), "{m} {path}: teach spec.rs $ref");
                if p["in"] != "header" {
                    continue;
                }
                let name = p["name"].as_str().unwrap().to_string();
                if name.ends_with("-Token") {
                    token_headers.push(name);
                } else {
                    other_headers.push(name);
                }
            }
            out.push(Op {
                method: m.to_uppercase(),
                path: path.clone(),
                public: op["security"] == serde_json::json!([{}]),
                token_headers,
                other_headers,
            });
        }
    }
    out
}

impl World {
    /// The OpenAPI document, as anyone may read it.
    pub async fn openapi(&self) -> Value {
        let res = self
            .api(self.by("nobody"), "GET", "/api/v1/openapi.json", None)
            .await;
        assert_eq!(res.status, StatusCode::OK);
        serde_json::from_str(&res.body).unwrap()
    }

    /// A shopper route's path with real IDs: the variant for `{variant_id}`, caller 0's paid
    /// order for `{id}` (only `/api/v1/orders/{id}` has one).
    pub fn public_path(&self, path: &str) -> String {
        let out = path
            .replace("{variant_id}", &self.ids["variant"])
            .replace("{id}", &self.per_caller["order"][0]);
        assert!(
            !out.contains('{'),
            "{path}: teach roles_support/spec.rs this path parameter"
        );
        out
    }
}

/// The shopper routes left out of the staff table (security `[{}]`) cannot hide a staff
/// route: each refuses a request without the token its header parameters name (401 naming
/// the header, nothing changed), whoever sends it, staff sessions and API keys included; the
/// few that take no token at all are exactly those listed in `routes::TOKENLESS`.
pub async fn assert_shopper_routes_take_only_their_token(w: &World) {
    let public: Vec<_> = operations(&w.openapi().await)
        .into_iter()
        .filter(|o| o.public)
        .collect();
    assert!(public.len() > 5, "few shopper routes: {public:?}");
    let tokenless: BTreeSet<_> = public
        .iter()
        .filter(|o| o.token_headers.is_empty())
        .map(|o| (o.method.as_str(), o.path.as_str()))
        .collect();
    let listed: BTreeSet<_> = TOKENLESS.iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(
        tokenless, listed,
        "shopper routes without a token must be listed in routes::TOKENLESS with a reason"
    );
    let before = w.snapshot().await;
    for o in &public {
        assert!(!o.path.starts_with("/api/v1/admin"), "{o:?}: a staff path");
        let path = w.public_path(&o.path);
        let headers: Vec<(&str, &str)> = o
            .other_headers
            .iter()
            .map(|h| (h.as_str(), "walk-key-1"))
            .collect();
        let body = ["POST", "PUT", "PATCH"]
            .contains(&o.method.as_str())
            .then(|| "{}".to_string());
        for who in &w.who {
            let ctx = format!("{} {} {path}", who.label, o.method);
            let res = w
                .api_with(who, &o.method, &path, &headers, body.clone())
                .await;
            if o.token_headers.is_empty() {
                assert!(
                    res.status.is_success(),
                    "{ctx}: {} {}",
                    res.status,
                    res.body
                );
                continue;
            }
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{ctx}: {}", res.body);
            let e: serde_json::Value = serde_json::from_str(&res.body).unwrap();
            let field = e["error"]["field"].as_str().unwrap_or("");
            assert!(
                o.token_headers.iter().any(|h| h == field),
                "{ctx}: the refusal names the token: {}",
                res.body
            );
        }
    }
    // Only tokenless calls ran (new carts are not in the snapshot).
    assert_eq!(
        w.snapshot().await,
        before,
        "a refused shopper call changed something"
    );
}
