//! The commented `storefort.toml` that `storefort init` (and the demo) write.

use std::net::SocketAddr;
use std::path::Path;

/// The commented file `storefort init` writes.
pub fn commented_toml(data_dir: &Path, shop_name: &str, listen: SocketAddr) -> String {
    format!(
        r#"# storefort configuration. Every value can also be set from the environment:
# STOREFORT_<SECTION>__<KEY>, e.g. STOREFORT_SERVER__LISTEN=0.0.0.0:443 (environment wins).

# Holds the SQLite database and certificates. Keep it mode 0700 and back it up.
data_dir = {data_dir:?}

# The master key (0600) unlocks the keys that encrypt customers' personal data. It lives outside
# the data dir so that a copy of the database alone reveals nothing: back it up separately.
# Default: master.key beside this file. STOREFORT_MASTER_KEY (64 hex characters), when set, is
# used instead of any file. The erasure ledger (erasures.log) is kept beside the key file.
# master_key_file = "/etc/storefort/master.key"

[database]
# Default: SQLite in the data dir. For several storefort nodes, use PostgreSQL:
# url = "postgres://storefort@db.internal/storefort"

[server]
listen = "{listen}"
# Plain HTTP only redirects to HTTPS. Empty disables it.
http_listen = "0.0.0.0:8080"
# Prometheus metrics, loopback only. Empty disables it.
metrics_listen = "127.0.0.1:9464"
# Reverse proxies allowed to set X-Forwarded-For / X-Forwarded-Proto, e.g. ["10.0.0.2"].
trusted_proxies = []

[tls]
# "self-signed" (browsers warn; fine for trying out), "files" or "acme".
mode = "self-signed"
self_signed_names = ["localhost"]
# mode = "files":
# cert = "/etc/storefort/fullchain.pem"
# key = "/etc/storefort/privkey.pem"
# mode = "acme" (Let's Encrypt; the shop must be reachable on port 443 for TLS-ALPN-01):
# acme_domains = ["shop.example.com"]
# acme_email = "you@example.com"
# acme_production = true

[shop]
name = {shop_name:?}
currency = "GBP"

[privacy]
# Guests (customers without an account) are anonymized after this many months without
# activity, checked daily (1 to 120). Erasures are recorded in erasures.log beside the master
# key, so restoring an older backup re-applies them at start.
guest_retention_months = 24

[fraud]
# Thresholds, weights and rules are in admin > Fraud screening. Optional: a GeoIP country
# database (MaxMind mmdb format, e.g. GeoLite2-Country.mmdb) for the "IP country differs from
# billing country" signal.
# geoip_database = "/var/lib/storefort/GeoLite2-Country.mmdb"

[log]
# "text" or "json"
format = "text"
level = "info"
# Also write the log to a file (appended, 0600; card numbers and email addresses are masked).
# `storefort doctor --scan` searches it, and *.log files in the data dir, for card numbers.
# file = "/var/log/storefort/storefort.log"
"#
    )
}

/// The `[backup]` section `storefort init` (and the demo) append: the recipient of the key pair
/// just made, and a local destination beside the config file (outside the data dir).
pub fn backup_toml(recipient: &str) -> String {
    format!(
        r#"
[backup]
# Backups are encrypted to this public key. Its private half is in the recovery kit printed
# by `storefort init` (or `storefort backup new-identity`): keep the kit offline, never on this
# server, so a stolen server cannot read its own backups.
recipients = [{recipient:?}]
# Schedule and retention (every hour; 24 hourly, 14 daily, 8 weekly) are in admin > Backups.
# Several destinations at once: keep one off this machine (the 3-2-1 rule).
[[backup.destinations]]
name = "local"
kind = "local"
path = "backups"
# An S3-compatible bucket (AWS, Backblaze B2, Wasabi, MinIO...). The secret key is kept
# encrypted in the database: `storefort secrets set backup.offsite.secret_access_key`.
# [[backup.destinations]]
# name = "offsite"
# kind = "s3"
# bucket = "my-shop-backups"
# region = "eu-west-2"
# endpoint = "https://s3.eu-west-2.amazonaws.com"
# access_key_id = "AKIA..."
"#
    )
}
