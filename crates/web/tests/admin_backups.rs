//! The "Backups" admin page: owners only (a manager gets 403 and no link); a clear "not set up"
//! panel when the server has no backup service; with a real service on a local destination,
//! "Back up now" makes a backup that gets listed, "Check stored copies now" passes and then
//! catches a damaged file; a download needs the password typed again and streams exactly the
//! stored (encrypted) file, audited; bad settings are refused naming the field and nothing is
//! saved; forms without the CSRF token are refused.

mod admin_customers_support;
mod backups_support;
mod common;
mod staff_support;

use admin_customers_support::{owner, staff};
use axum::http::{header, StatusCode};
use backups_support::{post_raw, with_backups, DEST};
use common::{app, OWNER_PASSWORD};
use staff_support::audit_log;
use storefort_backup::progress::NoProgress;
use storefort_backup::settings::{BackupSettings, BackupStatus};

const PAGE: &str = "/admin/backups";
const NAV_LINK: &str = "href=\"/admin/backups\"";

#[tokio::test]
async fn owners_only_and_a_clear_panel_when_backups_are_not_set_up() {
    let t = app().await;
    let o = owner(&t).await;
    let res = o.get(&t, PAGE).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    for want in [
        NAV_LINK,
        "Backups are not set up on this server",
        "storefort backup new-identity",
        "[backup]",
        "storefort.toml",
        "docs/BACKUPS.md",
        "not scheduled",
        "none yet",
        // The settings are shown (and can be saved) before the service exists.
        "name=\"interval_minutes\" required inputmode=\"numeric\" value=\"60\"",
        "name=\"keep_weekly\" required inputmode=\"numeric\" value=\"8\"",
    ] {
        assert!(res.body.contains(want), "shows {want}: {}", res.body);
    }
    assert!(
        !res.body.contains("Back up now"),
        "no button without a service"
    );
    // Without a service the actions say so instead of failing.
    let run = o.post(&t, "/admin/backups/run", &[]).await;
    assert_eq!(run.status, StatusCode::CONFLICT);
    assert!(run.body.contains("not set up"), "{}", run.body);

    // Managers and cashiers have no link and are refused every route (audited as denied).
    for role in ["manager", "cashier"] {
        let m = staff(&t, role).await;
        let dash = m.get(&t, "/admin").await;
        assert_eq!(dash.status, StatusCode::OK);
        assert!(
            !dash.body.contains(NAV_LINK),
            "no Backups link for a {role}"
        );
        let res = m.get(&t, PAGE).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{role}");
        assert!(res.body.contains("does not allow you"), "{}", res.body);
        for path in [
            "/admin/backups/run",
            "/admin/backups/check",
            "/admin/backups/settings",
            "/admin/backups/download",
        ] {
            let res = m.post(&t, path, &[("interval_minutes", "5")]).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{role} {path}");
        }
    }
    let denied = audit_log(&t, "access.denied").await;
    assert_eq!(denied.len(), 10, "{denied:?}");
    assert_eq!(
        BackupSettings::load(&t.db).await.unwrap().interval_minutes,
        60
    );
}

#[tokio::test]
async fn last_success_and_last_failure_with_its_reason_are_shown() {
    let t = app().await;
    let o = owner(&t).await;
    let now = t.db.now();
    BackupStatus {
        last_attempt_at: Some(now),
        last_success_at: Some(now - 3_600_000),
        last_success_name: Some("storefort-20260101T100000Z.sfbak".into()),
        last_failure_at: Some(now),
        last_failure_reason: Some("destination offsite: connection refused".into()),
        ..Default::default()
    }
    .save(&t.db)
    .await
    .unwrap();
    let res = o.get(&t, PAGE).await;
    for want in [
        "The last backup failed.",
        "destination offsite: connection refused",
        "storefort-20260101T100000Z.sfbak",
        "Last full verify with the recovery kit",
    ] {
        assert!(res.body.contains(want), "shows {want}: {}", res.body);
    }
}

#[tokio::test]
async fn run_now_lists_the_backup_check_catches_damage_and_download_needs_the_password() {
    let mut t = app().await;
    let b = with_backups(&mut t).await;
    let o = owner(&t).await;
    let res = o.get(&t, PAGE).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    for want in [
        "Back up now",
        "No backups here yet.",
        "on this machine",
        "id=\"no-offsite\"",
    ] {
        assert!(res.body.contains(want), "shows {want}: {}", res.body);
    }
    assert!(!res.body.contains("Backups are not set up"));

    let run = o.post(&t, "/admin/backups/run", &[]).await;
    assert_eq!(run.status, StatusCode::SEE_OTHER, "{}", run.body);
    assert!(
        run.location() == "/admin/backups?done=started"
            || run.location() == "/admin/backups?done=created",
        "{}",
        run.location()
    );
    let listed = b.wait_for(1).await;
    let name = listed[0].name.clone();
    let res = o.get(&t, run.location()).await;
    for want in [
        "Backup",
        name.as_str(),
        "Download (encrypted)",
        "only the recovery kit",
    ] {
        assert!(
            res.body.to_lowercase().contains(&want.to_lowercase()),
            "shows {want}: {}",
            res.body
        );
    }
    let status = BackupStatus::load(&t.db).await.unwrap();
    assert_eq!(status.last_success_name.as_deref(), Some(name.as_str()));

    // Check the stored copies: passes; then a damaged file is caught.
    let check = o.post(&t, "/admin/backups/check", &[]).await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.body);
    assert!(
        check.body.contains("Stored copies checked"),
        "{}",
        check.body
    );
    let file = b.stored_file(&name);
    let stored = std::fs::read(&file).unwrap();
    assert!(!stored.is_empty());

    // Six minutes after signing in, a download sends the owner to type the password again.
    t.clock.advance(6 * 60_000);
    let form = [("csrf", o.csrf.as_str()), ("dest", DEST), ("name", &name)];
    let res = post_raw(&t, "/admin/backups/download", &o.cookie, &form).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        res.header(header::LOCATION),
        "/admin/reauth?next=%2Fadmin%2Fbackups%3Fdone%3Dpassword"
    );
    assert!(res.body.is_empty(), "nothing streamed");
    assert!(audit_log(&t, "backup.downloaded").await.is_empty());

    let typed = o
        .post(
            &t,
            "/admin/reauth",
            &[
                ("password", OWNER_PASSWORD),
                ("next", "/admin/backups?done=password"),
            ],
        )
        .await;
    assert_eq!(typed.status, StatusCode::SEE_OTHER, "{}", typed.body);
    // Back on the page, which says what to do next.
    assert_eq!(typed.location(), "/admin/backups?done=password");
    let back = o.get(&t, "/admin/backups?done=password").await;
    assert!(back.body.contains("press Download again"), "{}", back.body);
    let res = post_raw(&t, "/admin/backups/download", &o.cookie, &form).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header(header::CONTENT_TYPE), "application/octet-stream");
    assert_eq!(
        res.header(header::CONTENT_DISPOSITION),
        format!("attachment; filename=\"{name}\"")
    );
    assert_eq!(res.header(header::CACHE_CONTROL), "no-store");
    assert!(
        res.body == stored,
        "the download is the stored file, byte for byte"
    );
    let downloaded = audit_log(&t, "backup.downloaded").await;
    assert_eq!(downloaded.len(), 1);
    assert_eq!(downloaded[0].target, name);
    assert!(
        downloaded[0].details.contains(DEST),
        "{}",
        downloaded[0].details
    );

    // Unknown destination or backup, or a name that is not a backup file: 404, nothing audited.
    for (dest, n) in [
        ("elsewhere", name.as_str()),
        (DEST, "storefort-19990101T000000Z.sfbak"),
        (DEST, "../t.db"),
        (DEST, ""),
    ] {
        let f = [("csrf", o.csrf.as_str()), ("dest", dest), ("name", n)];
        let res = post_raw(&t, "/admin/backups/download", &o.cookie, &f).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{dest} {n}");
    }
    assert_eq!(audit_log(&t, "backup.downloaded").await.len(), 1);

    // Damage the stored copy: the check now fails and says so.
    let mut bad = stored.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    std::fs::write(&file, &bad).unwrap();
    let check = o.post(&t, "/admin/backups/check", &[]).await;
    assert_eq!(check.status, StatusCode::OK);
    assert!(
        check
            .body
            .contains("The check of the stored copies failed: local: ")
            && check.body.contains(&name),
        "{}",
        check.body
    );
    assert_eq!(
        BackupStatus::load(&t.db).await.unwrap().last_check_ok,
        Some(false)
    );

    // While a backup runs, "Back up now" says so and starts nothing.
    t.clock.advance(60_000);
    let mut busy = Box::pin(b.svc.create("test", &NoProgress));
    assert!(futures::poll!(&mut busy).is_pending());
    assert!(
        b.svc.is_running(),
        "the first poll took the one-at-a-time lock"
    );
    let res = o.post(&t, "/admin/backups/run", &[]).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert!(
        res.body.contains("A backup is already running"),
        "{}",
        res.body
    );
    busy.await.unwrap();
    assert_eq!(
        b.listed().await.len(),
        2,
        "only the one already running was added"
    );
}

fn settings_form(values: [&str; 4]) -> Vec<(&'static str, &str)> {
    [
        "interval_minutes",
        "keep_hourly",
        "keep_daily",
        "keep_weekly",
    ]
    .into_iter()
    .zip(values)
    .collect()
}

#[tokio::test]
async fn bad_settings_are_refused_naming_the_field_and_good_ones_are_saved_and_audited() {
    let t = app().await;
    let o = owner(&t).await;
    for (values, input, says) in [
        (
            ["3", "24", "14", "8"],
            "interval_minutes",
            "Back up every (minutes)",
        ),
        (["1441", "24", "14", "8"], "interval_minutes", "5 to 1440"),
        (
            ["", "24", "14", "8"],
            "interval_minutes",
            "Back up every (minutes)",
        ),
        (
            ["60", "many", "14", "8"],
            "keep_hourly",
            "Hourly backups kept: enter a whole number (like 24)",
        ),
        // Keeping almost nothing leaves nothing to go back to.
        (["60", "1", "0", "0"], "keep_hourly", "keep at least 3"),
        (["60", "24", "-1", "8"], "keep_daily", "Daily backups kept"),
        (
            ["60", "24", "14", "1001"],
            "keep_weekly",
            "Weekly backups kept",
        ),
    ] {
        let res = o
            .post(&t, "/admin/backups/settings", &settings_form(values))
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{values:?}");
        assert!(res.body.contains(says), "{says}: {}", res.body);
        let marked = format!("id=\"backup-{input}\" name=\"{input}\"");
        let at = res.body.find(&marked).expect("field shown");
        let tag = &res.body[at..at + res.body[at..].find('>').unwrap()];
        assert!(
            tag.contains("aria-invalid=\"true\""),
            "{input} marked: {tag}"
        );
        assert_eq!(
            BackupSettings::load(&t.db).await.unwrap(),
            BackupSettings::default(),
            "nothing saved for {values:?}"
        );
    }
    assert!(audit_log(&t, "backup.settings_changed").await.is_empty());

    let res = o
        .post(
            &t,
            "/admin/backups/settings",
            &settings_form(["30", "24", "7", "8"]),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/admin/backups?done=settings");
    let saved = BackupSettings::load(&t.db).await.unwrap();
    assert_eq!((saved.interval_minutes, saved.keep_daily), (30, 7));
    assert_eq!((saved.keep_hourly, saved.keep_weekly), (24, 8));
    let page = o.get(&t, res.location()).await;
    assert!(page.body.contains("Backup settings saved"));
    assert!(page.body.contains("value=\"30\""));
    let e = audit_log(&t, "backup.settings_changed").await;
    assert_eq!(e.len(), 1);
    assert_eq!(
        e[0].details,
        "interval_minutes 60 -> 30, keep_daily 14 -> 7"
    );
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused_and_change_nothing() {
    let mut t = app().await;
    let b = with_backups(&mut t).await;
    let o = owner(&t).await;
    let no_token: [(&str, &str); 0] = [];
    let res = t
        .post("/admin/backups/run", Some(&o.cookie), &no_token)
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = t
        .post(
            "/admin/backups/settings",
            Some(&o.cookie),
            &[("csrf", "forged"), ("interval_minutes", "5")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(
        BackupSettings::load(&t.db).await.unwrap().interval_minutes,
        60
    );
    let res = post_raw(
        &t,
        "/admin/backups/download",
        &o.cookie,
        &[("dest", DEST), ("name", "storefort-20260101T000000Z.sfbak")],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(audit_log(&t, "backup.settings_changed").await.is_empty());
    assert!(audit_log(&t, "backup.downloaded").await.is_empty());
    // No backup was started by the refused "Back up now".
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(b.listed().await.is_empty());
    assert_eq!(
        BackupStatus::load(&t.db).await.unwrap().last_attempt_at,
        None
    );
}
