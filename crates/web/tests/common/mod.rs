//! In-process test harness for the page routes: a fresh SQLite database per test, an owner
//! account, a seeded category, location and product, and helpers to drive the router.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use std::sync::Arc;
use storefort_core::catalog::{
    CategoryInput, LocationInput, LocationKind, ProductInput, ProductStatus, VariantInput,
};
use storefort_core::model::{Location, Product};
use storefort_core::stock::Reason;
use storefort_store::stock::Change;
use storefort_store::{Clock, Db, ManualClock, SystemClock};
use storefort_web::{router, AppState, WebConfig};
use tower::ServiceExt;

pub const OWNER_EMAIL: &str = "owner@example.com";
pub const OWNER_PASSWORD: &str = "correct horse battery staple 42";

/// One test's world.
pub struct TestApp {
    pub db: Db,
    /// The database's clock (starts at the real time; tests move it).
    pub clock: Arc<ManualClock>,
    /// The owner's TOTP seed (the owner is enrolled).
    pub owner_totp: String,
    pub app: Router,
    pub location: Location,
    pub product: Product,
    _dir: tempfile::TempDir,
}

/// A response, body read.
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Res {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The first `name="csrf" value="..."` on the page.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("page has a csrf field");
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

pub async fn app() -> TestApp {
    app_with(WebConfig::default()).await
}

/// The same world with its own web settings (e.g. an SMTP server).
pub async fn app_with(cfg: WebConfig) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
    let db = Db::connect_with(
        &format!("sqlite://{}", dir.path().join("t.db").display()),
        Default::default(),
        clock.clone(),
    )
    .await
    .unwrap();
    db.migrate().await.unwrap();
    let db = db
        .with_master_key(&storefort_crypto::master_key::MasterKey::generate())
        .await
        .unwrap();
    let hash = storefort_crypto::password::hash(OWNER_PASSWORD).unwrap();
    let owner = db
        .create_user(OWNER_EMAIL, "Olive Owner", "owner", &hash, 4)
        .await
        .unwrap();
    let owner_totp = db.begin_mfa_enrolment(owner.id.as_str()).await.unwrap();
    db.confirm_mfa(owner.id.as_str(), 0, &[]).await.unwrap();
    let cat = db
        .create_category(CategoryInput {
            name: "Shirts".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let location = db
        .create_location(LocationInput {
            name: "Main warehouse".into(),
            kind: LocationKind::Warehouse,
        })
        .await
        .unwrap();
    let product = db
        .create_product(ProductInput {
            name: "Linen Shirt".into(),
            description: "Cool in summer.".into(),
            category_id: Some(cat.id.clone()),
            status: Some(ProductStatus::Active),
            variants: vec![
                VariantInput {
                    sku: "LS-M".into(),
                    price_minor: 4500,
                    options: [("Size".to_string(), "M".to_string())].into(),
                    ..Default::default()
                },
                VariantInput {
                    sku: "LS-L".into(),
                    price_minor: 4800,
                    options: [("Size".to_string(), "L".to_string())].into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        })
        .await
        .unwrap();
    let state = AppState::new(db.clone(), cfg);
    TestApp {
        app: router(state),
        db,
        clock,
        owner_totp,
        location,
        product,
        _dir: dir,
    }
}

impl TestApp {
    pub async fn send(&self, req: Request<Body>) -> Res {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Res {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Res {
        let mut b = Request::builder().uri(path);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    pub async fn post(&self, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Res {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::from(body)).unwrap()).await
    }

    /// Sign in as the owner: returns `(cookie header value, csrf token)`.
    pub async fn login(&self) -> (String, String) {
        self.login_as(OWNER_EMAIL, OWNER_PASSWORD).await
    }

    /// Sign in with a password; the second factor (if the user has one) is marked done
    /// directly in the database (the MFA tests drive the real code page).
    pub async fn login_as(&self, email: &str, password: &str) -> (String, String) {
        let res = self
            .post(
                "/admin/login",
                None,
                &[("email", email), ("password", password), ("next", "/admin")],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let cookie = session_cookie(&res);
        let token = cookie.split_once('=').unwrap().1;
        let s = self
            .db
            .touch_session(&storefort_crypto::token::hash_token(token))
            .await
            .unwrap()
            .unwrap();
        self.db.complete_session(&s.id).await.unwrap();
        let dash = self.get("/admin", Some(&cookie)).await;
        assert_eq!(dash.status, StatusCode::OK);
        let csrf = dash.csrf();
        (cookie, csrf)
    }

    pub async fn product_count(&self) -> i64 {
        self.db.count_products().await.unwrap()
    }
}

/// The `name=value` of the session cookie a response sets.
pub fn session_cookie(res: &Res) -> String {
    let set = res
        .headers
        .get(header::SET_COOKIE)
        .expect("response sets a cookie")
        .to_str()
        .unwrap();
    set.split(';').next().unwrap().to_string()
}

/// Receive `qty` units of `variant` at the test location.
pub async fn add_stock(t: &TestApp, variant: &str, qty: i64) {
    let c = Change {
        variant_id: variant,
        location_id: t.location.id.as_str(),
        note: "",
        actor: "test",
    };
    t.db.adjust_stock(&c, qty, Reason::Received).await.unwrap();
}

/// A one-variant product with the given status.
pub fn simple_product(name: &str, sku: &str, status: ProductStatus) -> ProductInput {
    ProductInput {
        name: name.into(),
        status: Some(status),
        variants: vec![VariantInput {
            sku: sku.into(),
            price_minor: 1000,
            ..Default::default()
        }],
        ..Default::default()
    }
}
