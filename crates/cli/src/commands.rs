//! The subcommands: init, serve, demo, migrate (doctor, bench, user, audit and passwords live in
//! their own modules).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use storefort_crypto::master_key::MasterKey;

use crate::cli::{BenchCommand, Cli, Command, DemoArgs, InitArgs};
use crate::config::{backup_toml, commented_toml, Config};
use crate::keyfile::KeySource;
use crate::setup::{self, CliResult};

/// The demo's recovery kit file, in the demo dir (demo only: a real kit stays offline).
pub const DEMO_KIT: &str = "demo-recovery-kit.txt";

/// The email of the demo shop's owner.
pub const DEMO_OWNER: &str = "owner@demo.storefort.test";

/// Run the chosen command.
pub async fn run(cli: Cli) -> CliResult<ExitCode> {
    match cli.command {
        Command::Init(a) => init(&cli.config, a).await.map(|_| ExitCode::SUCCESS),
        Command::Demo(a) => demo(a, cli.log_format.as_deref())
            .await
            .map(|_| ExitCode::SUCCESS),
        Command::Serve => {
            let cfg = Config::load(Some(&cli.config))?;
            init_logging(
                cli.log_format.as_deref().unwrap_or(&cfg.log.format),
                &cfg.log.level,
                cfg.log.file.as_deref(),
            )?;
            serve(&cfg).await.map(|_| ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let cfg = Config::load(Some(&cli.config))?;
            let db = storefort_store::Db::connect(&cfg.database_url()).await?;
            let n = db.migrate().await?;
            println!(
                "{n} migration(s) applied; database is at version {}.",
                db.applied_migrations().await?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor(a) => {
            let cfg = Config::load(Some(&cli.config))?;
            crate::doctor::run(&cli.config, &cfg, a.json, a.scan).await
        }
        Command::Bench(BenchCommand::Catalog(a)) => {
            crate::bench::catalog(&a).await.map(|_| ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Checkout(a)) => crate::bench::checkout::run(&a)
            .await
            .map(|_| ExitCode::SUCCESS),
        Command::Bench(BenchCommand::Fraud(a)) => crate::bench::fraud::run(&a)
            .await
            .map(|_| ExitCode::SUCCESS),
        Command::Bench(BenchCommand::Pos(a)) => {
            crate::bench::pos::run(&a).await.map(|_| ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Vault(a)) => crate::bench::vault::run(&a)
            .await
            .map(|_| ExitCode::SUCCESS),
        Command::User(c) => crate::user::run(&Config::load(Some(&cli.config))?, c).await,
        Command::Device(c) => crate::device_cmd::run(&Config::load(Some(&cli.config))?, c).await,
        Command::Audit(c) => crate::audit_cmd::run(&Config::load(Some(&cli.config))?, c).await,
        Command::Passwords(c) => {
            crate::passwords_cmd::run(&Config::load(Some(&cli.config))?, c).await
        }
        Command::Keys(c) => crate::keys_cmd::run(&Config::load(Some(&cli.config))?, c).await,
        Command::Secrets(c) => crate::secrets_cmd::run(&Config::load(Some(&cli.config))?, c).await,
        Command::Backup(c) => crate::backup_cmd::run(&cli.config, c).await,
        Command::Restore(a) => crate::restore_cmd::run(&Config::load(Some(&cli.config))?, a).await,
        Command::Plugin(c) => crate::plugin_cmd::run(&cli.config, c).await,
        Command::Bench(BenchCommand::Plugins(a)) => {
            crate::bench::plugins::run(&a).map(|_| ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Backup(a)) => crate::bench::backup::run(&a)
            .await
            .map(|_| ExitCode::SUCCESS),
    }
}

/// Log to standard error and, with `file`, also to that file (appended, 0600); every line
/// passes through the redacting writer first.
fn init_logging(format: &str, level: &str, file: Option<&Path>) -> setup::CliResult<()> {
    use crate::redacting_writer::RedactingMakeWriter;
    use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};
    let filter = tracing_subscriber::EnvFilter::try_new(level).unwrap_or_else(|_| "info".into());
    let writer = match file {
        None => BoxMakeWriter::new(RedactingMakeWriter::new(std::io::stderr)),
        Some(path) => BoxMakeWriter::new(RedactingMakeWriter::new(
            std::io::stderr.and(std::sync::Arc::new(setup::open_log_file(path)?)),
        )),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(file.is_none())
        .with_writer(writer);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    Ok(())
}

async fn init(config_path: &std::path::Path, a: InitArgs) -> CliResult<()> {
    if config_path.exists() {
        return Err(format!(
            "{} already exists; not overwriting it",
            config_path.display()
        )
        .into());
    }
    let backup_key = storefort_backup::keys::new_identity();
    let text =
        commented_toml(&a.data_dir, &a.shop_name, a.listen) + &backup_toml(&backup_key.recipient);
    let base = config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let data_dir = if a.data_dir.is_relative() {
        base.join(&a.data_dir)
    } else {
        a.data_dir.clone()
    };
    let key_path = base.join("master.key");
    if key_path.exists() {
        return Err(format!(
            "{} already exists; refusing to replace a master key",
            key_path.display()
        )
        .into());
    }
    storefort_store::auth::normalize_email(&a.owner_email)
        .map_err(|e| format!("--owner-email: {}", e.message))?;
    setup::ensure_data_dir(&data_dir)?;
    setup::write_private(config_path, &text)?;
    let cfg = Config::load(Some(config_path))?;
    let source = KeySource::of(&cfg);
    if let KeySource::File(path) = &source {
        MasterKey::write_new(path)?;
    }
    let db = setup::open_db(&cfg).await?;
    let pw = setup::create_owner(&db, &a.owner_email, &a.owner_name, &a.shop_name).await?;
    println!(
        "Created {} and {}.",
        config_path.display(),
        data_dir.display()
    );
    println!(
        "Owner login: {} / {}",
        a.owner_email.trim().to_lowercase(),
        pw
    );
    println!("This password is shown once and stored only as an argon2id hash. Keep it in a password manager.");
    match &source {
        KeySource::File(p) => println!(
            "Master key: {} (0600). Back it up apart from the data dir: without it customer data cannot be read.",
            p.display()
        ),
        KeySource::Env => println!("Master key: taken from STOREFORT_MASTER_KEY (no key file written)."),
    }
    println!();
    println!(
        "{}",
        storefort_backup::keys::recovery_kit(
            &a.shop_name,
            &backup_key.identity,
            &backup_key.recipient,
            crate::keyfile::key_hex(&source).as_deref(),
            db.now(),
        )
    );
    println!("Print or save the recovery kit above and keep it OFF this server (a password manager, a safe):");
    println!(
        "backups are encrypted to it and this server keeps only its public half. It is shown once."
    );
    println!();
    println!("Next: `storefort doctor` to check the set-up, then `storefort serve`.");
    Ok(())
}

async fn serve(cfg: &Config) -> CliResult<()> {
    setup::master_key(cfg)?;
    // One server per data dir; `storefort restore` refuses while this lock is held.
    let _lock = serve_lock(cfg)?;
    let db = setup::open_db(cfg).await?;
    crate::retention::spawn(db.clone(), cfg);
    let backups = crate::backup_schedule::start(cfg, &db).await?;
    let running = setup::start(cfg, db, backups).await?;
    println!("listening on https://{}", running.https);
    let _ = std::io::stdout().flush();
    setup::wait_for_shutdown().await;
    Ok(())
}

/// The data dir's lock: one server per shop (and `storefort restore` waits for it).
fn serve_lock(cfg: &Config) -> CliResult<storefort_backup::lock::ServeLock> {
    storefort_backup::lock::acquire(&cfg.data_dir).map_err(|e| match e {
        storefort_backup::BackupError::ServerRunning { pid } => format!(
            "another storefort (pid {pid}) is already running on {}: stop it first",
            cfg.data_dir.display()
        )
        .into(),
        e => e.into(),
    })
}

async fn demo(a: DemoArgs, log_format: Option<&str>) -> CliResult<()> {
    init_logging(log_format.unwrap_or("text"), "warn", None)?;
    // The demo dir holds the config and the master key; the database and certificates live in
    // its `data` subdirectory (demos made before the key moved out keep `data_dir = "."`).
    let config_path = a.data_dir.join("storefort.toml");
    let fresh = !config_path.exists();
    if fresh {
        setup::ensure_data_dir(&a.data_dir)?;
        setup::ensure_data_dir(&a.data_dir.join("data"))?;
        // The demo keeps its recovery kit beside its config so that backups can be tried out;
        // a real shop keeps the kit offline (doctor fails a shop whose kit is on the server).
        let backup_key = storefort_backup::keys::new_identity();
        let text = commented_toml(Path::new("data"), "storefort demo shop", a.listen)
            + &backup_toml(&backup_key.recipient);
        setup::write_private(&config_path, &text)?;
        setup::write_private(
            &a.data_dir.join(DEMO_KIT),
            &storefort_backup::keys::recovery_kit(
                "storefort demo shop",
                &backup_key.identity,
                &backup_key.recipient,
                None,
                storefort_store::Clock::now_ms(&storefort_store::SystemClock),
            ),
        )?;
    }
    let mut cfg = Config::load(Some(&config_path))?;
    if let (true, KeySource::File(path)) = (fresh, KeySource::of(&cfg)) {
        MasterKey::load_or_create(&path)?;
    }
    cfg.server.listen = a.listen;
    if a.listen.port() == 0 {
        // Links in pages and emails (the gateway's return address) need the real port: take a
        // free one now rather than leave the choice to the listener.
        let probe = std::net::TcpListener::bind(a.listen)?;
        cfg.server.listen = probe.local_addr()?;
    }
    cfg.server.http_listen = a.http_listen.clone();
    cfg.server.metrics_listen = "127.0.0.1:0".into();
    // The demo takes payment with the built-in test-mode gateway (no real money moves).
    if !cfg.payments.gateways.iter().any(|g| g == "sandbox") {
        cfg.payments.gateways.insert(0, "sandbox".into());
    }
    let db = setup::open_db(&cfg).await?;
    let login = if db.user_by_email(DEMO_OWNER).await?.is_none() {
        crate::seed::demo(&db).await?;
        crate::seed_customers::demo_customers(&db).await?;
        let pw = setup::create_owner(&db, DEMO_OWNER, "Demo Owner", &cfg.shop.name).await?;
        format!("{DEMO_OWNER} / {pw}   (shown once: it is stored only as a hash)")
    } else if a.new_password {
        let pw = setup::reset_password(&db, DEMO_OWNER).await?;
        format!("{DEMO_OWNER} / {pw}   (new password, shown once)")
    } else {
        format!("{DEMO_OWNER} (password shown when this demo was created; `storefort demo --new-password` makes a new one)")
    };
    // Demos made before checkout existed get its settings too.
    crate::seed_checkout::demo_checkout(&db).await?;
    let till = crate::seed_pos::demo_pos(&db, DEMO_OWNER, fresh).await?;
    crate::retention::spawn(db.clone(), &cfg);
    let _lock = serve_lock(&cfg)?;
    let backups = crate::backup_schedule::start(&cfg, &db).await?;
    let running = setup::start(&cfg, db, backups).await?;
    let base = setup::public_base(running.https);
    println!(
        "storefort demo shop ({})",
        if fresh { "created" } else { "reused" }
    );
    println!("  Shop:     {base}/");
    println!("  Admin:    {base}/admin");
    println!("  POS:      {base}/pos");
    println!("  API:      {base}/api/v1   (OpenAPI: {base}/api/v1/openapi.json)");
    if let Some(m) = running.metrics {
        println!("  Metrics:  http://{m}/metrics");
    }
    if let Some(h) = running.http {
        println!("  HTTP {h} redirects to HTTPS");
    }
    println!("  Owner login: {login}");
    for line in &till.lines {
        println!("{line}");
    }
    println!(
        "  Data: {}   The certificate is self-signed, so the browser warns once.",
        a.data_dir.display()
    );
    if a.data_dir.join(DEMO_KIT).exists() {
        println!(
            "  Backups: hourly to {}; recovery kit (demo only) {}",
            a.data_dir.join("backups").display(),
            a.data_dir.join(DEMO_KIT).display()
        );
    }
    println!("  Plugins: none on; Admin > Plugins installs an example once you approve it with your password");
    println!("listening on https://{}", running.https);
    let _ = std::io::stdout().flush();
    setup::wait_for_shutdown().await;
    Ok(())
}
