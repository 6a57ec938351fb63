//! The API's operations as its OpenAPI document lists them. An operation whose security
//! requirement is the empty one (`security: [{}]`) is a shopper route: it takes no staff
//! credentials, only the token its header parameters name (`X-Cart-Token`, `X-Order-Token`),
//! or nothing at all for the few listed in `routes::TOKENLESS`.

use axum::http::StatusCode;
use serde_json::Value;

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
