//! `storefort keys ...`: the data keys' status, data key rotation (online, in batches,
//! resumable) and master key rotation (crash-safe through `<key file>.next`).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngCore;
use storefort_crypto::master_key::MasterKey;
use storefort_store::rotation::RotationStatus;
use storefort_store::vault::ACTIVE_KEY_REFRESH;
use storefort_store::Db;

use crate::cli::KeysCommand;
use crate::config::{Config, MASTER_KEY_ENV};
use crate::keyfile::{next_path, KeySource};
use crate::setup::{self, audit_cli, CliResult};

/// How many times `rotate` waits for other nodes to switch keys before giving up for now.
const FINISH_ATTEMPTS: u32 = 5;
/// How often progress is printed when standard error is not a terminal.
const PLAIN_PROGRESS_EVERY: Duration = Duration::from_secs(2);
const DAY_MS: i64 = 86_400_000;

/// Run a `keys` subcommand.
pub async fn run(cfg: &Config, cmd: KeysCommand) -> CliResult<ExitCode> {
    let db = setup::open_db(cfg).await?;
    let result = match cmd {
        KeysCommand::Status => status(&db).await,
        KeysCommand::Rotate(a) => rotate(&db, a.batch).await,
        KeysCommand::RotateMaster => rotate_master(cfg, &db).await,
    };
    db.pool.close().await;
    result
}

async fn status(db: &Db) -> CliResult<ExitCode> {
    let keys = db.data_keys().await?;
    let now = db.now();
    println!(
        "{:<40}  {:<19}  {:<20}  AGE",
        "DATA KEY", "STATE", "CREATED (UTC)"
    );
    for k in &keys {
        let age = (now - k.created_at).max(0) / DAY_MS;
        let state = if k.state == "retired" {
            "retired (destroyed)"
        } else {
            k.state.as_str()
        };
        println!(
            "{:<40}  {:<19}  {:<20}  {age} day(s)",
            k.id,
            state,
            storefort_web::pages::render::utc(k.created_at)
        );
    }
    let s = db.rotation_status().await?;
    if s.in_progress() {
        println!(
            "\nRotation to {} in progress: {} still under {}. \
             Run `storefort keys rotate` to finish it.",
            s.active,
            left(&s),
            s.retiring.join(", ")
        );
    } else {
        println!(
            "\nNo rotation in progress; everything is under {}.",
            s.active
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn left(s: &RotationStatus) -> String {
    format!(
        "{} customer(s), {} address or order row(s), {} secret(s) (two-step seeds, stored secrets)",
        s.customers_left, s.rows_left, s.secrets_left
    )
}

/// Progress on a terminal (a bar) or in a log (a line every few seconds).
enum Progress {
    Bar(indicatif::ProgressBar),
    Plain { total: u64, last: Instant },
}

impl Progress {
    fn new(total: u64) -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} re-encrypted  {per_sec}  eta {eta}",
            ) {
                bar.set_style(style);
            }
            Progress::Bar(bar)
        } else {
            Progress::Plain {
                total,
                last: Instant::now(),
            }
        }
    }

    fn set(&mut self, done: u64) {
        match self {
            Progress::Bar(bar) => {
                if done > bar.length().unwrap_or(0) {
                    bar.set_length(done);
                }
                bar.set_position(done);
            }
            Progress::Plain { total, last } => {
                if last.elapsed() >= PLAIN_PROGRESS_EVERY {
                    *last = Instant::now();
                    eprintln!("re-encrypted {done} of {}", (*total).max(done));
                }
            }
        }
    }

    fn note(&self, text: &str) {
        match self {
            Progress::Bar(bar) => bar.println(text),
            Progress::Plain { .. } => eprintln!("{text}"),
        }
    }

    fn finish(self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// Re-encrypt batches until none is left or Ctrl-C was pressed; returns how many were done.
async fn drain(
    db: &Db,
    batch: i64,
    done: &mut u64,
    progress: &mut Progress,
    stop: &AtomicBool,
) -> CliResult<()> {
    while !stop.load(Ordering::SeqCst) {
        let n = db.rotate_batch(batch).await?;
        if n == 0 {
            break;
        }
        *done += n as u64;
        progress.set(*done);
    }
    Ok(())
}

async fn rotate(db: &Db, batch: i64) -> CliResult<ExitCode> {
    let before = db.rotation_status().await?;
    let s = db.begin_rotation().await?;
    if before.in_progress() {
        println!(
            "Resuming the rotation to data key {}: {} left.",
            s.active,
            left(&s)
        );
    } else {
        println!(
            "New data key {}; re-encrypting {} under it.",
            s.active,
            left(&s)
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let on_ctrl_c = stop.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.store(true, Ordering::SeqCst);
        }
    });
    let started = Instant::now();
    let mut working = Duration::ZERO;
    let mut done = 0u64;
    let mut progress = Progress::new(s.remaining().max(0) as u64);
    let mut finished = false;
    for attempt in 0..FINISH_ATTEMPTS {
        let t = Instant::now();
        drain(db, batch, &mut done, &mut progress, &stop).await?;
        working += t.elapsed();
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if db.finish_rotation().await? {
            finished = true;
            break;
        }
        if attempt + 1 < FINISH_ATTEMPTS {
            let wait = settle_time(db, &s.active).await?;
            progress.note(&format!(
                "waiting {:.0} s for every node to switch to the new key...",
                wait.as_secs_f64()
            ));
            tokio::time::sleep(wait).await;
        }
    }
    progress.finish();
    watcher.abort();
    let secs = working.as_secs_f64();
    let rate = done as f64 / secs.max(0.001);
    println!(
        "Re-encrypted {done} in {secs:.1} s ({rate:.0} rows/s); {:.1} s in all.",
        started.elapsed().as_secs_f64()
    );
    if !finished {
        let now = db.rotation_status().await?;
        println!(
            "Stopped with {} still under {}. Run `storefort keys rotate` again to carry on.",
            left(&now),
            now.retiring.join(", ")
        );
        return Ok(ExitCode::FAILURE);
    }
    let retired = if s.retiring.is_empty() {
        "no older key".to_string()
    } else {
        s.retiring.join(", ")
    };
    audit_cli(
        db,
        "keys.rotated",
        &s.active,
        &format!("{done} re-encrypted in {secs:.1} s; destroyed {retired}"),
    )
    .await?;
    println!(
        "Rotation finished: everything is under {}; {retired} destroyed.",
        s.active
    );
    Ok(ExitCode::SUCCESS)
}

/// How long until every node has switched to the new key: the store destroys a retiring key
/// only once the new one is two refresh intervals old. At least one interval otherwise (rows a
/// node wrote under the old key meanwhile are then picked up).
async fn settle_time(db: &Db, active: &str) -> CliResult<Duration> {
    let margin = Duration::from_millis(500);
    let created = db
        .data_keys()
        .await?
        .into_iter()
        .find(|k| k.id == active)
        .map(|k| k.created_at)
        .unwrap_or_else(|| db.now());
    let age = Duration::from_millis((db.now() - created).max(0) as u64);
    let settled = (2 * ACTIVE_KEY_REFRESH).saturating_sub(age);
    Ok(if settled.is_zero() {
        ACTIVE_KEY_REFRESH + margin
    } else {
        settled + margin
    })
}

async fn rotate_master(cfg: &Config, db: &Db) -> CliResult<ExitCode> {
    let n = match KeySource::of(cfg) {
        KeySource::File(path) => {
            // open_db already finished or removed any `.next` from an interrupted rotation.
            let next = next_path(&path);
            let new = MasterKey::write_new(&next)?;
            let n = match db.rewrap_keys(&new).await {
                Ok(n) => n,
                Err(e) => {
                    // The commit's outcome may be unknown (a lost connection): `.next` stays,
                    // and the next start keeps whichever key the database accepts.
                    return Err(format!(
                        "master key rotation failed ({e}); {} is kept: the next start of \
                         storefort uses it if the database took the new key, and removes it \
                         otherwise",
                        next.display()
                    )
                    .into());
                }
            };
            std::fs::rename(&next, &path).map_err(|e| {
                format!(
                    "the keys were re-wrapped under the new key in {} but renaming it to {} \
                     failed ({e}); the next start finishes the rename",
                    next.display(),
                    path.display()
                )
            })?;
            println!(
                "Re-wrapped {n} key(s) under a new master key, now in {}.",
                path.display()
            );
            println!("Back the new key file up now, apart from the database.");
            n
        }
        KeySource::Env => {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let hex = hex::encode(bytes);
            let new = MasterKey::from_hex(&hex, "the new master key")?;
            println!("New master key (shown once; store it in your secrets manager now):");
            println!("{hex}");
            let n = db.rewrap_keys(&new).await.map_err(|e| {
                format!(
                    "master key rotation failed: the database still uses the current key, so keep \
                     {MASTER_KEY_ENV} as it is and discard the key above: {e}"
                )
            })?;
            println!("Re-wrapped {n} key(s) under it. Set {MASTER_KEY_ENV} to it wherever storefort runs.");
            n
        }
    };
    audit_cli(
        db,
        "keys.master_rotated",
        "master key",
        &format!("{n} key(s) re-wrapped"),
    )
    .await?;
    println!(
        "Restart every running storefort so it uses the new key. Keep the old master key for as \
         long as you keep backups made before now: they open only with it."
    );
    Ok(ExitCode::SUCCESS)
}
