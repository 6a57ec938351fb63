//! Sign-ins alongside the catalog load: `POST /admin/login` as the bench cashier at a fixed
//! rate (open loop: a slow sign-in does not delay the next one), each on a new connection as a
//! browser would. The server hashes with argon2id on its blocking pool; this shows whether that
//! slows the shop.

use std::time::{Duration, Instant};

use hyper::{header, StatusCode};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use super::client::{Endpoint, Stats};

/// Who signs in.
#[derive(Clone)]
pub struct Account {
    /// Login email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// A running sign-in load; [`LoginLoad::stop`] ends it and returns what it measured.
pub struct LoginLoad {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Stats>,
}

/// `application/x-www-form-urlencoded` escaping of one value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Start signing in `per_sec` times a second.
pub fn start(ep: Endpoint, who: Account, per_sec: u32) -> LoginLoad {
    let (stop, mut stopped) = oneshot::channel::<()>();
    let form = format!(
        "email={}&password={}&next=%2Fadmin",
        encode(&who.email),
        encode(&who.password)
    );
    let task = tokio::spawn(async move {
        let started = Instant::now();
        let mut every = tokio::time::interval(Duration::from_secs(1) / per_sec.max(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut inflight = JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = every.tick() => {
                    let (ep, form) = (ep.clone(), form.clone());
                    inflight.spawn(async move {
                        let sent = Instant::now();
                        let ok = matches!(
                            ep.post_form_once("/admin/login", form).await,
                            Ok((s, h)) if s == StatusCode::SEE_OTHER
                                && h.get(header::LOCATION).is_some_and(|l| l == "/admin")
                                && h.contains_key(header::SET_COOKIE)
                        );
                        (ok, sent.elapsed())
                    });
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let mut stats = Stats {
            seconds,
            ..Stats::default()
        };
        while let Some(done) = inflight.join_next().await {
            stats.requests += 1;
            match done {
                Ok((ok, took)) => {
                    if !ok {
                        stats.errors += 1;
                    }
                    stats
                        .latencies_us
                        .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
                }
                Err(_) => stats.errors += 1,
            }
        }
        stats.latencies_us.sort_unstable();
        stats
    });
    LoginLoad { stop, task }
}

impl LoginLoad {
    /// Stop starting sign-ins, wait for those under way, and return the figures.
    pub async fn stop(self) -> Stats {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_escaped() {
        assert_eq!(encode("a@b.c"), "a%40b.c");
        assert_eq!(encode("x y&z=+"), "x%20y%26z%3D%2B");
        assert_eq!(encode("Ab3-9"), "Ab3-9");
    }
}
