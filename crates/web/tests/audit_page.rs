//! The audit log page and CSV export (filters, paging, CSV injection, who may read it), and the
//! hash chain catching an attacker who edits the database file directly.

mod common;

use axum::http::{header, StatusCode};
use common::{app, TestApp, OWNER_EMAIL, OWNER_PASSWORD};
use storefort_core::access::SecurityPolicy;
use storefort_store::audit::{AuditEvent, AuditFilter, AuditVerdict, Outcome};

const DAY: i64 = 86_400_000;

/// Sign the owner in and out `n` times through the real routes.
async fn sign_in_and_out(t: &TestApp, n: usize) {
    for _ in 0..n {
        let (cookie, csrf) = t.login().await;
        let out = t
            .post("/admin/logout", Some(&cookie), &[("csrf", &csrf)])
            .await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
    }
}

async fn add(t: &TestApp, action: &str, actor: &str, outcome: Outcome) -> i64 {
    t.db.audit(
        AuditEvent::new(action, actor, "203.0.113.9")
            .on("target")
            .outcome(outcome),
    )
    .await
    .unwrap()
}

/// Every `seq` in the log, oldest first.
async fn seqs(t: &TestApp) -> Vec<i64> {
    let mut all: Vec<i64> =
        t.db.audit_entries(&AuditFilter {
            limit: Some(10_000),
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    all.reverse();
    all
}

fn rows(body: &str) -> usize {
    body.matches("<td class=\"num\">").count()
}

fn date(ms: i64) -> String {
    storefort_web::pages::render::utc(ms)[..10].to_string()
}

async fn broken_at(t: &TestApp) -> (i64, String) {
    match t.db.verify_audit().await.unwrap() {
        AuditVerdict::Broken { seq, reason } => (seq, reason),
        v => panic!("tampering not caught: {v:?}"),
    }
}

/// As an attacker holding the database file would: the append-only trigger goes first.
async fn sql(t: &TestApp, stmt: &str) {
    sqlx::query("DROP TRIGGER IF EXISTS audit_log_no_update")
        .execute(&t.db.pool)
        .await
        .unwrap();
    sqlx::query(stmt).execute(&t.db.pool).await.unwrap();
}

#[tokio::test]
async fn filters_dates_and_paging() {
    let t = app().await;
    let old = add(&t, "settings.changed", "old@example.com", Outcome::Success).await;
    let old_day = date(t.db.now());
    t.clock.advance(3 * DAY);
    sign_in_and_out(&t, 2).await;
    add(&t, "login.failure", "Mallory <script>", Outcome::Failure).await;
    add(&t, "access.denied", "cashier@example.com", Outcome::Denied).await;
    let (cookie, _) = t.login().await;

    let all = t.get("/admin/audit", Some(&cookie)).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert!(all.body.contains("Chain intact ("), "{}", all.body);
    assert!(all.body.contains("Mallory &#60;script&#62;"), "escaped");
    assert!(!all.body.contains("Mallory <script>"));
    assert!(all.body.contains("settings.changed"));
    assert!(
        all.body.find("access.denied") < all.body.find("settings.changed"),
        "newest first"
    );

    let who = t.get("/admin/audit?actor=MALLORY", Some(&cookie)).await;
    assert_eq!(rows(&who.body), 1, "{}", who.body);
    let logins = t.get("/admin/audit?action=login.", Some(&cookie)).await;
    assert!(logins.body.contains("login.password_ok"));
    assert!(
        !logins.body.contains("<code>logout</code>") && !logins.body.contains("settings.changed")
    );
    let failed = t.get("/admin/audit?outcome=failure", Some(&cookie)).await;
    assert_eq!(rows(&failed.body), 1, "{}", failed.body);
    assert!(failed.body.contains("<option value=\"failure\" selected>"));
    let denied = t
        .get("/admin/audit?outcome=denied&actor=cashier", Some(&cookie))
        .await;
    assert_eq!(rows(&denied.body), 1);

    let then = t
        .get(
            &format!("/admin/audit?from={old_day}&to={old_day}"),
            Some(&cookie),
        )
        .await;
    assert_eq!(rows(&then.body), 1, "{}", then.body);
    assert!(then.body.contains(&format!("<td class=\"num\">{old}</td>")));
    let today = date(t.db.now());
    let recent = t
        .get(&format!("/admin/audit?from={today}"), Some(&cookie))
        .await;
    assert!(!recent.body.contains("settings.changed"));
    assert!(recent.body.contains("login.failure"));

    for (q, field) in [
        ("from=2024-02-30", "From:"),
        ("to=31%2F01%2F2024", "To:"),
        ("from=2024-02-02&to=2024-02-01", "To:"),
        ("outcome=maybe", "Outcome:"),
        ("before=abc", "Older entries:"),
    ] {
        let bad = t.get(&format!("/admin/audit?{q}"), Some(&cookie)).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(bad.body.contains(field), "{q}: {}", bad.body);
        assert_eq!(rows(&bad.body), 0);
        let csv = t.get(&format!("/admin/audit.csv?{q}"), Some(&cookie)).await;
        assert_eq!(csv.status, StatusCode::BAD_REQUEST, "{q}");
    }

    // Reading the log is itself recorded.
    let viewed =
        t.db.audit_entries(&AuditFilter {
            action: Some("audit.viewed".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        viewed.len(),
        7,
        "each good view once, bad ones not: {viewed:?}"
    );
    assert!(viewed.iter().any(|e| e.details.contains("actor=MALLORY")));
    assert!(viewed.iter().all(|e| e.actor == OWNER_EMAIL));

    // Paging: 100 a page, then the older ones.
    for i in 0..150 {
        add(
            &t,
            "bulk.event",
            &format!("bulk{i}@example.com"),
            Outcome::Success,
        )
        .await;
    }
    let first = t.get("/admin/audit?action=bulk", Some(&cookie)).await;
    assert_eq!(rows(&first.body), 100);
    assert!(
        first.body.contains("bulk149@example.com") && !first.body.contains("bulk49@example.com")
    );
    let at = first
        .body
        .find("href=\"/admin/audit?action=bulk&")
        .expect("an older-entries link");
    let href = &first.body[at + 6..];
    let href = href[..href.find('"').unwrap()]
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(href.contains("&before="), "{href}");
    let second = t.get(&href, Some(&cookie)).await;
    assert_eq!(rows(&second.body), 50, "{href}");
    assert!(
        second.body.contains("bulk49@example.com") && second.body.contains("bulk0@example.com")
    );
    assert!(!second.body.contains("rel=\"next\""));
}

#[tokio::test]
async fn csv_export_has_rows_and_neutralises_formulas() {
    let t = app().await;
    sign_in_and_out(&t, 1).await;
    t.db.audit(
        AuditEvent::new("login.failure", "=cmd()", "198.51.100.7")
            .on("-2+3")
            .outcome(Outcome::Failure)
            .details("@SUM(A1:A9), \"quoted\"\nnext line"),
    )
    .await
    .unwrap();
    let (cookie, _) = t.login().await;
    let res = t.get("/admin/audit.csv", Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let disposition = res.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"audit-log-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    assert_eq!(res.headers[header::CACHE_CONTROL], "no-store");

    let mut reader = csv::Reader::from_reader(res.body.as_bytes());
    let head: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(head, storefort_web::pages::admin_audit::CSV_HEADER);
    let recs: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(recs.len() >= 4, "{recs:?}");
    let evil = recs
        .iter()
        .find(|r| &r[4] == "login.failure")
        .expect("the injected row");
    assert_eq!(&evil[2], "'=cmd()");
    assert_eq!(&evil[5], "'-2+3");
    assert_eq!(&evil[6], "198.51.100.7");
    assert_eq!(&evil[7], "failure");
    assert_eq!(&evil[8], "'@SUM(A1:A9), \"quoted\"\nnext line");
    assert!(
        evil[1].ends_with('Z') && evil[1].contains('T'),
        "{}",
        &evil[1]
    );
    assert!(recs
        .iter()
        .all(|r| !r.iter().any(|c| c.starts_with(['=', '+', '-', '@']))));
    let seqs: Vec<i64> = recs.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first");

    // Same filters as the page.
    let only = t
        .get("/admin/audit.csv?actor=cmd&outcome=failure", Some(&cookie))
        .await;
    let n = csv::Reader::from_reader(only.body.as_bytes())
        .records()
        .count();
    assert_eq!(n, 1, "{}", only.body);

    let exported =
        t.db.audit_entries(&AuditFilter {
            action: Some("audit.exported".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(exported.len(), 2);
    assert!(
        exported[0].details.starts_with("1 entries as CSV"),
        "{}",
        exported[0].details
    );
}

#[tokio::test]
async fn only_owners_read_the_log() {
    let t = app().await;
    let hash = storefort_crypto::password::hash(OWNER_PASSWORD).unwrap();
    let m =
        t.db.create_user("manager@example.com", "Mo Manager", "manager", &hash, 4)
            .await
            .unwrap();
    t.db.begin_mfa_enrolment(m.id.as_str()).await.unwrap();
    t.db.confirm_mfa(m.id.as_str(), 0, &[]).await.unwrap();
    t.db.create_user("cashier@example.com", "Cy Cashier", "cashier", &hash, 4)
        .await
        .unwrap();

    let none = t.get("/admin/audit", None).await;
    assert_eq!(none.status, StatusCode::SEE_OTHER);
    assert!(
        none.location().starts_with("/admin/login"),
        "{}",
        none.location()
    );
    let none = t.get("/admin/audit.csv", None).await;
    assert!(none.status.is_redirection());
    assert!(!none.body.contains("seq,"));

    for email in ["manager@example.com", "cashier@example.com"] {
        let (cookie, _) = t.login_as(email, OWNER_PASSWORD).await;
        for path in [
            "/admin/audit",
            "/admin/audit.csv",
            "/admin/audit.csv?actor=owner",
        ] {
            let res = t.get(path, Some(&cookie)).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{email} {path}");
            assert!(!res.body.contains("login.success") && !res.body.contains("seq,time_utc"));
        }
        let dash = t.get("/admin", Some(&cookie)).await;
        assert!(
            !dash.body.contains("href=\"/admin/audit\""),
            "no nav link for {email}"
        );
    }
    let denied =
        t.db.audit_entries(&AuditFilter {
            action: Some("access.denied".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(denied.len(), 6);
    assert!(denied
        .iter()
        .any(|e| e.actor == "cashier@example.com" && e.target == "GET /admin/audit.csv"));
    let (cookie, _) = t.login().await;
    let dash = t.get("/admin", Some(&cookie)).await;
    assert!(dash.body.contains("href=\"/admin/audit\""));
}

/// A log with sign-ins, sign-outs and a few more entries; returns the seqs, oldest first.
async fn written() -> (TestApp, Vec<i64>) {
    let t = app().await;
    sign_in_and_out(&t, 3).await;
    for i in 0..3 {
        add(
            &t,
            "settings.changed",
            &format!("s{i}@example.com"),
            Outcome::Success,
        )
        .await;
    }
    assert_eq!(
        t.db.verify_audit().await.unwrap(),
        AuditVerdict::Intact { entries: 9 }
    );
    let s = seqs(&t).await;
    assert_eq!(s.len(), 9);
    (t, s)
}

#[tokio::test]
async fn a_changed_entry_is_caught_where_it_was_changed() {
    let (t, s) = written().await;
    // The trigger stops a plain UPDATE.
    assert!(sqlx::query("UPDATE audit_log SET actor = 'x'")
        .execute(&t.db.pool)
        .await
        .is_err());
    sql(
        &t,
        &format!(
            "UPDATE audit_log SET actor = 'someone-else@example.com' WHERE seq = {}",
            s[4]
        ),
    )
    .await;
    let (seq, reason) = broken_at(&t).await;
    assert_eq!(seq, s[4]);
    assert!(reason.contains("changed"), "{reason}");

    let (cookie, _) = t.login().await;
    let page = t.get("/admin/audit", Some(&cookie)).await;
    assert!(
        page.body
            .contains(&format!("Chain broken at entry #{}", s[4])),
        "{}",
        page.body
    );
    assert!(page.body.contains("alert-error"));

    // Moving a time is a change too.
    let (t, s) = written().await;
    sql(
        &t,
        &format!("UPDATE audit_log SET at = at - 60000 WHERE seq = {}", s[2]),
    )
    .await;
    assert_eq!(broken_at(&t).await.0, s[2]);
}

#[tokio::test]
async fn a_deleted_entry_is_caught_at_the_next_one() {
    let (t, s) = written().await;
    sql(&t, &format!("DELETE FROM audit_log WHERE seq = {}", s[4])).await;
    let (seq, reason) = broken_at(&t).await;
    assert_eq!(seq, s[5]);
    assert!(reason.contains("deleted"), "{reason}");
}

#[tokio::test]
async fn swapped_entries_are_caught_at_the_first() {
    let (t, s) = written().await;
    let (a, b) = (s[2], s[6]);
    sql(
        &t,
        &format!("UPDATE audit_log SET seq = -1 WHERE seq = {a}"),
    )
    .await;
    sql(
        &t,
        &format!("UPDATE audit_log SET seq = {a} WHERE seq = {b}"),
    )
    .await;
    sql(
        &t,
        &format!("UPDATE audit_log SET seq = {b} WHERE seq = -1"),
    )
    .await;
    let (seq, reason) = broken_at(&t).await;
    assert_eq!(seq, a);
    assert!(reason.contains("order"), "{reason}");

    // Swapping the very first entry is caught too (it must follow the anchor).
    let (t, s) = written().await;
    sql(
        &t,
        &format!("UPDATE audit_log SET seq = -1 WHERE seq = {}", s[0]),
    )
    .await;
    sql(
        &t,
        &format!("UPDATE audit_log SET seq = {} WHERE seq = {}", s[0], s[1]),
    )
    .await;
    sql(
        &t,
        &format!("UPDATE audit_log SET seq = {} WHERE seq = -1", s[1]),
    )
    .await;
    assert_eq!(broken_at(&t).await.0, s[0]);
}

#[tokio::test]
async fn retention_prunes_old_entries_and_the_chain_still_holds() {
    let (t, _) = written().await;
    let db = t.db.clone().with_policy(SecurityPolicy {
        audit_retention_ms: 400 * DAY,
        ..Default::default()
    });
    assert_eq!(db.prune_audit().await.unwrap(), 0, "nothing is old yet");
    t.clock.advance(200 * DAY);
    let kept: Vec<i64> = vec![
        add(&t, "recent.one", "r@example.com", Outcome::Success).await,
        add(&t, "recent.two", "r@example.com", Outcome::Success).await,
        add(&t, "recent.three", "r@example.com", Outcome::Success).await,
    ];
    t.clock.advance(201 * DAY);
    assert_eq!(db.prune_audit().await.unwrap(), 9);
    assert_eq!(
        db.verify_audit().await.unwrap(),
        AuditVerdict::Intact { entries: 4 }
    );
    let left = seqs(&t).await;
    assert_eq!(&left[..3], &kept[..]);
    let pruned =
        t.db.audit_entries(&AuditFilter {
            action: Some("audit.pruned".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(pruned[0].details.starts_with("9 entries"), "{:?}", pruned);

    // New entries keep linking; the page says so.
    let (cookie, _) = t.login().await;
    let page = t.get("/admin/audit", Some(&cookie)).await;
    assert!(page.body.contains("Chain intact ("), "{}", page.body);

    // Deleting the oldest kept entry is still caught: the anchor remembers what came before.
    sql(
        &t,
        &format!("DELETE FROM audit_log WHERE seq = {}", kept[0]),
    )
    .await;
    assert_eq!(broken_at(&t).await.0, kept[1]);
}
