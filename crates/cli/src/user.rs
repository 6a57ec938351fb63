//! `storefort user ...`: staff accounts for operators. Every change is recorded in the audit log
//! with actor and address `cli`; bad input exits with status 2 and changes nothing.

use std::process::ExitCode;

use storefort_crypto::password;
use storefort_store::auth::{normalize_email, User};
use storefort_store::{Db, StoreError};

use crate::cli::{UserAddArgs, UserCommand};
use crate::config::Config;
use crate::setup::{self, audit_cli, bad_input, CliResult};

/// Tries at a generated password that avoids the person's own details.
const GENERATE_TRIES: usize = 50;

/// Run a `user` subcommand.
pub async fn run(cfg: &Config, cmd: UserCommand) -> CliResult<ExitCode> {
    let db = setup::open_db(cfg).await?;
    let code = match cmd {
        UserCommand::Add(a) => add(&db, cfg, a).await?,
        UserCommand::List => list(&db).await?,
        UserCommand::Disable(u) => disable(&db, &u.email).await?,
        UserCommand::Enable(u) => enable(&db, &u.email).await?,
        UserCommand::Unlock(u) => unlock(&db, &u.email).await?,
        UserCommand::ResetPassword(u) => reset_password(&db, cfg, &u.email).await?,
        UserCommand::ResetMfa(u) => reset_mfa(&db, &u.email).await?,
    };
    db.pool.close().await;
    Ok(code)
}

/// The user with this email, or the exit status for "no such user".
async fn find(db: &Db, email: &str) -> CliResult<Result<User, ExitCode>> {
    Ok(match db.user_by_email(email).await? {
        Some(u) => Ok(u),
        None => Err(bad_input(format!(
            "no staff member with email {}; `storefort user list` shows them",
            printable(email.trim())
        ))),
    })
}

/// A strong generated password that does not contain the person's details; and its score.
fn generate(inputs: &[&str]) -> CliResult<(String, u8)> {
    for _ in 0..GENERATE_TRIES {
        let pw = password::generate();
        if let Ok(score) = password::check_policy(&pw, inputs) {
            return Ok((pw, score));
        }
    }
    Err("could not generate a password that meets the policy".into())
}

async fn hash(pw: &str) -> CliResult<String> {
    let pw = pw.to_string();
    Ok(tokio::task::spawn_blocking(move || password::hash(&pw)).await??)
}

async fn add(db: &Db, cfg: &Config, a: UserAddArgs) -> CliResult<ExitCode> {
    let email = match normalize_email(&a.email) {
        Ok(e) => e,
        Err(e) => return Ok(bad_input(format!("email: {}", e.message))),
    };
    let name = a.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Ok(bad_input(
            "--name: give their name (1 to 100 characters, no control characters)",
        ));
    }
    if db.user_by_email(&email).await?.is_some() {
        return Ok(bad_input(format!(
            "a staff member with email {email} already exists"
        )));
    }
    let (pw, score) = generate(&[&email, &name, &cfg.shop.name])?;
    let hashed = hash(&pw).await?;
    let user = match db.create_user(&email, &name, &a.role, &hashed, score).await {
        Ok(u) => u,
        Err(StoreError::Invalid(v)) => return Ok(bad_input(format!("{}: {}", v.field, v.message))),
        Err(StoreError::Conflict { .. }) => {
            return Ok(bad_input(format!(
                "a staff member with email {email} already exists"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    // Same hash, now marked temporary: they choose their own at first sign-in.
    db.set_temporary_password(user.id.as_str(), &hashed, score)
        .await?;
    audit_cli(
        db,
        "staff.created",
        &user.email,
        &format!("role {}; temporary password", user.role),
    )
    .await?;
    println!(
        "Added {} ({}) as {}.",
        user.email,
        printable(&user.name),
        user.role
    );
    println!("Temporary password: {pw}");
    println!("It is shown once and stored only as an argon2id hash. Give it to them in person;");
    println!("they must choose their own password at first sign-in.");
    if user.role().requires_mfa() {
        println!(
            "As {} they must also set up two-step sign-in (an authenticator app) then.",
            user.role
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Control characters (terminal escapes) in stored text are shown as `?`.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn when(ms: Option<i64>) -> String {
    ms.map(storefort_web::pages::render::utc)
        .unwrap_or_else(|| "never".into())
}

async fn list(db: &Db) -> CliResult<ExitCode> {
    let users = db.users().await?;
    if users.is_empty() {
        println!("No staff accounts yet: `storefort user add EMAIL --name NAME --role ROLE`.");
        return Ok(ExitCode::SUCCESS);
    }
    let now = db.now();
    let header = [
        "EMAIL",
        "NAME",
        "ROLE",
        "MFA",
        "LOCKED",
        "DISABLED",
        "LAST SIGN-IN (UTC)",
    ];
    let rows: Vec<[String; 7]> = users
        .iter()
        .map(|u| {
            [
                printable(&u.email),
                printable(&u.name),
                u.role.clone(),
                if u.mfa_enabled { "yes" } else { "no" }.into(),
                if u.is_locked(now) {
                    format!("until {}", when(u.locked_until))
                } else {
                    "no".into()
                },
                if u.disabled { "yes" } else { "no" }.into(),
                when(u.last_login_at),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(&header.map(String::from));
    for r in &rows {
        line(r);
    }
    Ok(ExitCode::SUCCESS)
}

async fn disable(db: &Db, email: &str) -> CliResult<ExitCode> {
    let user = match find(db, email).await? {
        Ok(u) => u,
        Err(code) => return Ok(code),
    };
    if user.disabled {
        println!("{} is already disabled.", user.email);
        return Ok(ExitCode::SUCCESS);
    }
    if user.role == "owner" {
        let owners = db.users_with_role("owner").await?;
        if owners.iter().filter(|o| !o.disabled).count() <= 1 {
            return Ok(bad_input(format!(
                "{} is the only enabled owner: add or enable another owner first",
                user.email
            )));
        }
    }
    db.set_disabled(user.id.as_str(), true).await?;
    audit_cli(
        db,
        "staff.disabled",
        &user.email,
        "every session ended; their API keys suspended",
    )
    .await?;
    println!(
        "Disabled {}: every session ended and the API keys they made stopped working.",
        user.email
    );
    Ok(ExitCode::SUCCESS)
}

async fn enable(db: &Db, email: &str) -> CliResult<ExitCode> {
    let user = match find(db, email).await? {
        Ok(u) => u,
        Err(code) => return Ok(code),
    };
    if !user.disabled {
        println!("{} is already enabled.", user.email);
        return Ok(ExitCode::SUCCESS);
    }
    db.set_disabled(user.id.as_str(), false).await?;
    audit_cli(db, "staff.enabled", &user.email, "").await?;
    println!("Enabled {}.", user.email);
    Ok(ExitCode::SUCCESS)
}

async fn unlock(db: &Db, email: &str) -> CliResult<ExitCode> {
    let user = match find(db, email).await? {
        Ok(u) => u,
        Err(code) => return Ok(code),
    };
    let was = if user.is_locked(db.now()) {
        "was locked"
    } else {
        "was not locked"
    };
    db.unlock_user(user.id.as_str()).await?;
    audit_cli(
        db,
        "staff.unlocked",
        &user.email,
        &format!("{was}; {} failed sign-in(s) cleared", user.failed_logins),
    )
    .await?;
    println!("Unlocked {} ({was}).", user.email);
    Ok(ExitCode::SUCCESS)
}

async fn reset_password(db: &Db, cfg: &Config, email: &str) -> CliResult<ExitCode> {
    let user = match find(db, email).await? {
        Ok(u) => u,
        Err(code) => return Ok(code),
    };
    let (pw, score) = generate(&[&user.email, &user.name, &cfg.shop.name])?;
    let hashed = hash(&pw).await?;
    db.set_temporary_password(user.id.as_str(), &hashed, score)
        .await?;
    audit_cli(
        db,
        "password.reset",
        &user.email,
        "temporary password by operator; every session ended",
    )
    .await?;
    println!("New temporary password for {}: {pw}", user.email);
    println!(
        "It is shown once. Every session of {} has ended;",
        user.email
    );
    println!("they must choose their own password at next sign-in.");
    if user.disabled {
        println!(
            "Note: the account is disabled; `storefort user enable {}` to let them in.",
            user.email
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn reset_mfa(db: &Db, email: &str) -> CliResult<ExitCode> {
    let user = match find(db, email).await? {
        Ok(u) => u,
        Err(code) => return Ok(code),
    };
    db.reset_mfa(user.id.as_str()).await?;
    let ended = db.end_sessions_of(user.id.as_str(), None).await?;
    audit_cli(
        db,
        "mfa.reset",
        &user.email,
        &format!(
            "by operator (was {}); {ended} session(s) ended",
            if user.mfa_enabled { "on" } else { "off" }
        ),
    )
    .await?;
    println!(
        "Two-step sign-in turned off for {}; {ended} session(s) ended.",
        user.email
    );
    if user.role().requires_mfa() {
        println!(
            "As {} they must set it up again at next sign-in.",
            user.role
        );
    }
    Ok(ExitCode::SUCCESS)
}
