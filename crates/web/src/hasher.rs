//! Where argon2id runs: a small pool of dedicated threads (half the CPU cores, at least one) at
//! a lower scheduling priority. Sign-ins are slow on purpose, but they must not slow the shop:
//! a burst of logins queues here, and when the shop is busy its request threads win the CPU.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

/// Niceness of the hashing threads (0 is normal, 19 the lowest); 10 gives them about a tenth of
/// a busy core's time while request threads are runnable, and all of it when they are not.
const NICE: i32 = 10;

static POOL: OnceLock<mpsc::Sender<Job>> = OnceLock::new();

fn start() -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    for i in 0..(cores / 2).max(1) {
        let rx = rx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("sf-hash-{i}"))
            .spawn(move || {
                lower_priority();
                loop {
                    let job = match rx.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start a password hashing thread");
        }
    }
    tx
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // On Linux a thread ID names just this thread for setpriority.
    let me = rustix::thread::gettid();
    if let Err(e) = rustix::process::setpriority_process(Some(me), NICE) {
        tracing::warn!(error = %e, "password hashing runs at normal priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

/// The pool went away (a hashing thread panicked or could not start).
#[derive(Debug, thiserror::Error)]
#[error("the password hashing pool is not running")]
pub struct PoolGone;

/// Run `f` on the hashing pool and wait for its result without blocking the runtime.
pub async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, PoolGone> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    POOL.get_or_init(start)
        .send(Box::new(move || {
            let _ = tx.send(f());
        }))
        .map_err(|_| PoolGone)?;
    rx.await.map_err(|_| PoolGone)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn runs_jobs_off_the_runtime_at_lower_priority() {
        let (name, nice) = super::run(|| {
            let name = std::thread::current().name().map(str::to_string);
            (
                name,
                rustix::process::getpriority_process(Some(rustix::thread::gettid())),
            )
        })
        .await
        .unwrap();
        assert!(name.unwrap().starts_with("sf-hash-"));
        assert_eq!(nice.unwrap(), super::NICE);
    }
}
