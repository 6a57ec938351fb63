//! Harness for the backups page tests: a real backup service writing to a local destination
//! in a temporary directory (encrypted to a fresh age recipient), the test app rebuilt with it,
//! waiting for a backup started from the page, and responses read as raw bytes (a download is
//! binary).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use storefort_backup::dest::StoredBackup;
use storefort_backup::service::BackupService;
use storefort_backup::settings::{BackupConfig, DestinationConfig, DestinationKind};
use storefort_web::{router, AppState, WebConfig};
use tower::ServiceExt;

use crate::common::TestApp;

/// The local destination's name.
pub const DEST: &str = "local";

/// The service the app was rebuilt with, and where its files live.
pub struct Backups {
    pub svc: Arc<BackupService>,
    /// The local destination's directory.
    pub dir: PathBuf,
    _tmp: tempfile::TempDir,
}

/// The file the SQLite test database lives in (the harness keeps its directory private).
async fn db_file(t: &TestApp) -> String {
    let row: (String,) =
        sqlx::query_as("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
    row.0
}

/// Give the app a backup service with one local destination in a temporary directory.
pub async fn with_backups(t: &mut TestApp) -> Backups {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("backups");
    let cfg = BackupConfig {
        recipients: vec![storefort_backup::keys::new_identity().recipient],
        destinations: vec![DestinationConfig {
            name: DEST.into(),
            kind: DestinationKind::Local { path: dir.clone() },
        }],
    };
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let svc = BackupService::new(
        t.db.clone(),
        format!("sqlite://{}", db_file(t).await),
        "storefort".into(),
        work,
        &cfg,
        tmp.path(),
    )
    .await
    .unwrap();
    let svc = Arc::new(svc);
    t.app = router(AppState::new(t.db.clone(), WebConfig::default()).with_backups(svc.clone()));
    Backups {
        svc,
        dir,
        _tmp: tmp,
    }
}

impl Backups {
    /// What the local destination lists.
    pub async fn listed(&self) -> Vec<StoredBackup> {
        let all = self.svc.list().await;
        let (_, l) = all.into_iter().find(|(d, _)| d == DEST).unwrap();
        l.unwrap()
    }

    /// Wait (up to 60 s) until the local destination lists `n` backups.
    pub async fn wait_for(&self, n: usize) -> Vec<StoredBackup> {
        for _ in 0..600 {
            let l = self.listed().await;
            if l.len() >= n {
                return l;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no backup appeared within 60 s");
    }

    /// The stored file called `name`, wherever the destination keeps it under its directory.
    pub fn stored_file(&self, name: &str) -> PathBuf {
        find(&self.dir, name).unwrap_or_else(|| panic!("{name} is not under {:?}", self.dir))
    }
}

fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()? {
        let p = e.ok()?.path();
        if p.is_dir() {
            if let Some(f) = find(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|f| f == name) {
            return Some(p);
        }
    }
    None
}

/// A response with its body as bytes.
pub struct Raw {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Raw {
    pub fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Post a form and keep the body as bytes.
pub async fn post_raw(t: &TestApp, path: &str, cookie: &str, form: &[(&str, &str)]) -> Raw {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .unwrap();
    let res = t.app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Raw {
        status,
        headers,
        body,
    }
}
