//! Harness for the role tests: the page harness's shop plus a manager and a cashier (signed
//! in), a read and a write API key, spare objects to archive or revoke, orders and checkout
//! settings to act on, and helpers to call a route as any of them, snapshot what they could
//! change (`snapshot.rs`) and read the refusals from the audit log.

#![allow(dead_code)]

mod orders;
mod pos;
pub mod routes;
pub mod scan;
mod snapshot;
pub mod spec;
mod state;

use state::spare_session;

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, Method, Request};
use storefort_core::access::{Permission, Role};
use storefort_core::catalog::{LocationInput, LocationKind, ProductStatus, VariantInput};
use storefort_crypto::token;

use crate::common::{self, add_stock, simple_product, Res, TestApp, OWNER_EMAIL, OWNER_PASSWORD};

/// A made-up ID of the right shape that names nothing.
pub const UNKNOWN: &str = "0190f0a0-0000-7000-8000-000000000000";
const STAFF_PASSWORD: &str = "plum orchard ladder 2024";

/// How a caller proves who they are.
#[derive(Debug, Clone)]
pub enum Cred {
    /// Nothing at all.
    Anonymous,
    /// A bearer token that is not a key.
    BogusKey,
    /// A signed-in staff session.
    Session { cookie: String, csrf: String },
    /// An integration's API key.
    Key(String),
}

/// One caller of the walk.
#[derive(Debug, Clone)]
pub struct Who {
    pub label: &'static str,
    pub cred: Cred,
    /// What the audit log calls them.
    pub actor: String,
    pub role: Option<Role>,
    pub scope: Option<&'static str>,
    /// Staff only: a second session of theirs, for `{own_session}`.
    pub own_session: Option<String>,
}

impl Who {
    /// Whether the matrix lets them do `p`; `None` for callers who are nobody.
    pub fn allows(&self, p: Permission) -> Option<bool> {
        match (&self.role, self.scope) {
            (Some(r), _) => Some(r.allows(p)),
            (None, Some(scope)) => Some(p.allowed_for_key_scope(scope)),
            _ => None,
        }
    }

    /// Whether an admin page needing `need` lets them in; `None` for callers who are not staff.
    pub fn may(&self, need: routes::Need) -> Option<bool> {
        match need {
            routes::Need::P(p) if self.is_staff() => self.allows(p),
            routes::Need::SignedIn if self.is_staff() => Some(true),
            _ => None,
        }
    }

    /// A signed-in staff member (pages only accept these).
    pub fn is_staff(&self) -> bool {
        self.role.is_some()
    }
}

/// The shop, its callers and the IDs the route tables refer to.
pub struct World {
    pub t: TestApp,
    pub who: Vec<Who>,
    /// Placeholder name (`product`, `variant`, `victim`, `target`, ...) -> real ID.
    pub ids: HashMap<&'static str, String>,
    /// Placeholders whose object the walk uses up (`order`, `held_order`, `open_order`): one
    /// per caller, caller `n`'s at `[n]`.
    pub per_caller: HashMap<&'static str, Vec<String>>,
}

async fn staff(t: &TestApp, email: &str, name: &str, role: Role) -> (String, String) {
    let hash = storefort_crypto::password::hash(STAFF_PASSWORD).unwrap();
    let u =
        t.db.create_user(email, name, role.as_str(), &hash, 4)
            .await
            .unwrap();
    if role.requires_mfa() {
        t.db.begin_mfa_enrolment(u.id.as_str()).await.unwrap();
        t.db.confirm_mfa(u.id.as_str(), 0, &[]).await.unwrap();
    }
    t.login_as(email, STAFF_PASSWORD).await
}

async fn key(t: &TestApp, name: &str, scope: &str, owner: &str) -> (String, String) {
    let k = format!("sf_{}", token::random_token());
    let rec =
        t.db.create_api_key(name, &k[..10], &token::hash_token(&k), scope, owner)
            .await
            .unwrap();
    (k, rec.id.as_str().to_string())
}

fn session_who(
    label: &'static str,
    email: &str,
    role: Role,
    s: (String, String),
    own_session: String,
) -> Who {
    Who {
        label,
        cred: Cred::Session {
            cookie: s.0,
            csrf: s.1,
        },
        actor: email.into(),
        role: Some(role),
        scope: None,
        own_session: Some(own_session),
    }
}

fn key_who(label: &'static str, name: &str, scope: &'static str, k: String) -> Who {
    Who {
        label,
        cred: Cred::Key(k),
        actor: format!("api-key:{name}"),
        role: None,
        scope: Some(scope),
        own_session: None,
    }
}

/// Build the world. Callers are ordered so that nobody, the cashier and the read key (who are
/// mostly refused) go before those whose writes succeed.
pub async fn world() -> World {
    let t = common::app().await;
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    let owner_id = owner.id.as_str().to_string();
    let manager = staff(&t, "manager@example.com", "Mina Manager", Role::Manager).await;
    let cashier = staff(&t, "cashier@example.com", "Cal Cashier", Role::Cashier).await;
    let owner_s = t.login_as(OWNER_EMAIL, OWNER_PASSWORD).await;
    let spare = [
        spare_session(&t, "cashier@example.com", STAFF_PASSWORD).await,
        spare_session(&t, "manager@example.com", STAFF_PASSWORD).await,
        spare_session(&t, OWNER_EMAIL, OWNER_PASSWORD).await,
    ];
    // The member the owner's staff actions are aimed at, signed in twice, and an open
    // invitation to withdraw.
    let hash = storefort_crypto::password::hash(STAFF_PASSWORD).unwrap();
    let target =
        t.db.create_user("target@example.com", "Tess Target", "cashier", &hash, 4)
            .await
            .unwrap();
    let target_session = spare_session(&t, "target@example.com", STAFF_PASSWORD).await;
    spare_session(&t, "target@example.com", STAFF_PASSWORD).await;
    let invitation =
        t.db.create_invitation(
            "pending@example.com",
            "Pat Pending",
            "cashier",
            &owner_id,
            &token::hash_token(&token::random_token()),
        )
        .await
        .unwrap();
    let (read, _) = key(&t, "reader", "read", &owner_id).await;
    let (write, _) = key(&t, "writer", "write", &owner_id).await;
    let (_, spare_key) = key(&t, "spare", "read", &owner_id).await;
    let second =
        t.db.create_location(LocationInput {
            name: "Shop floor".into(),
            kind: LocationKind::Shop,
        })
        .await
        .unwrap();
    let mut victim = simple_product("Spare mug", "SPARE-1", ProductStatus::Active);
    victim.variants.push(VariantInput {
        sku: "SPARE-2".into(),
        price_minor: 900,
        ..Default::default()
    });
    let victim = t.db.create_product(victim).await.unwrap();
    let variant = t.product.variants[0].id.as_str().to_string();
    add_stock(&t, &variant, 1000).await;
    let category = t.db.categories().await.unwrap()[0].id.0.clone();
    let (customer, address) = state::customer(&t).await;
    let shared = orders::shared(&t).await;
    let mut ids = HashMap::from([
        ("product", t.product.id.as_str().to_string()),
        ("variant", variant),
        ("code", t.product.variants[0].sku.clone()),
        ("victim", victim.id.as_str().to_string()),
        ("victim_variant", victim.variants[1].id.as_str().to_string()),
        ("category", category),
        ("location", t.location.id.as_str().to_string()),
        ("location2", second.id.as_str().to_string()),
        ("key", spare_key),
        ("target", target.id.as_str().to_string()),
        ("target_session", target_session),
        ("invitation", invitation.id),
        ("customer", customer),
        ("address", address),
        // The owner's; `fill_for` puts in the caller's own.
        ("own_session", spare[2].clone()),
    ]);
    let shipping = shared.iter().find(|s| s.0 == "shipping").unwrap().1.clone();
    ids.extend(shared);
    ids.extend(pos::tills(&t).await);
    let anon = |label, cred| Who {
        label,
        cred,
        actor: String::new(),
        role: None,
        scope: None,
        own_session: None,
    };
    let who = vec![
        anon("nobody", Cred::Anonymous),
        anon("bogus key", Cred::BogusKey),
        session_who(
            "cashier",
            "cashier@example.com",
            Role::Cashier,
            cashier,
            spare[0].clone(),
        ),
        key_who("read key", "reader", "read", read),
        session_who(
            "manager",
            "manager@example.com",
            Role::Manager,
            manager,
            spare[1].clone(),
        ),
        key_who("write key", "writer", "write", write),
        session_who("owner", OWNER_EMAIL, Role::Owner, owner_s, spare[2].clone()),
    ];
    let reviewers: Vec<bool> = who
        .iter()
        .map(|w| w.allows(Permission::OrdersManage) == Some(true))
        .collect();
    let per_caller = orders::per_caller(&t, &shipping, &reviewers).await;
    World {
        t,
        who,
        ids,
        per_caller: per_caller.into_iter().collect(),
    }
}

impl World {
    /// Every placeholder name, sorted.
    fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self
            .ids
            .keys()
            .chain(self.per_caller.keys())
            .copied()
            .collect();
        names.sort();
        names
    }

    /// Replace every `{name}` placeholder with its ID (caller `n`'s own for the per-caller
    /// ones; or, if `made_up`, a made-up ID of the same shape, different for each name), and
    /// `{n}` with `n` (to keep names and SKUs unique per caller).
    pub fn fill(&self, template: &str, made_up: bool, n: usize) -> String {
        let mut out = template.replace("{n}", &n.to_string());
        for (i, k) in self.names().into_iter().enumerate() {
            let needle = format!("{{{k}}}");
            if !out.contains(&needle) {
                continue;
            }
            let v = if made_up {
                format!("{}{i:02x}", &UNKNOWN[..UNKNOWN.len() - 2])
            } else if let Some(v) = self.ids.get(k) {
                v.clone()
            } else {
                let all = &self.per_caller[k];
                all.get(n)
                    .unwrap_or_else(|| panic!("no {{{k}}} for caller {n}"))
                    .clone()
            };
            out = out.replace(&needle, &v);
        }
        out
    }

    /// `fill` for `who`: `{own_session}` is their own spare session (a made-up ID for callers
    /// who are not staff).
    pub fn fill_for(&self, who: &Who, template: &str, made_up: bool, n: usize) -> String {
        let own = who.own_session.as_deref().unwrap_or(UNKNOWN);
        let t = if made_up {
            template.to_string()
        } else {
            template.replace("{own_session}", own)
        };
        self.fill(&t, made_up, n)
    }

    /// Whether `template` names any object.
    pub fn names_object(&self, template: &str) -> bool {
        self.names()
            .iter()
            .any(|k| template.contains(&format!("{{{k}}}")))
    }

    /// The caller called `label` (`owner`, `cashier`, `read key`, ...).
    pub fn by(&self, label: &str) -> &Who {
        self.who.iter().find(|w| w.label == label).unwrap()
    }

    /// Call the JSON API.
    pub async fn api(&self, who: &Who, method: &str, path: &str, body: Option<String>) -> Res {
        self.api_with(who, method, path, &[], body).await
    }

    /// Call the JSON API with extra headers.
    pub async fn api_with(
        &self,
        who: &Who,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Res {
        let mut b = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        match &who.cred {
            Cred::Anonymous => {}
            Cred::BogusKey => b = b.header(header::AUTHORIZATION, "Bearer sf_not-a-real-key"),
            Cred::Key(k) => b = b.header(header::AUTHORIZATION, format!("Bearer {k}")),
            Cred::Session { cookie, csrf } => {
                b = b
                    .header(header::COOKIE, cookie)
                    .header("x-csrf-token", csrf);
            }
        }
        let body = match body {
            Some(j) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(j)
            }
            None => Body::empty(),
        };
        self.t.send(b.body(body).unwrap()).await
    }

    /// Load an admin page (GET) or post a form (with the caller's CSRF token).
    pub async fn page(&self, who: &Who, method: &str, path: &str, form: &[(&str, String)]) -> Res {
        let (cookie, csrf) = match &who.cred {
            Cred::Session { cookie, csrf } => (Some(cookie.as_str()), csrf.clone()),
            _ => (None, String::new()),
        };
        let mut b = Request::builder().uri(path);
        match &who.cred {
            Cred::Key(k) => b = b.header(header::AUTHORIZATION, format!("Bearer {k}")),
            Cred::BogusKey => b = b.header(header::AUTHORIZATION, "Bearer sf_not-a-real-key"),
            _ => {}
        }
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        if method == "GET" {
            return self.t.send(b.body(Body::empty()).unwrap()).await;
        }
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf", &csrf)
            .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let req = b
            .method(Method::POST)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.t.send(req).await
    }
}
