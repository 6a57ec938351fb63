//! Where argon2id runs: a small pool of dedicated threads (half the CPU cores, at least one) at
//! a lower scheduling priority. Sign-ins are slow on purpose, but they must not slow the shop:
//! a burst of logins queues here, and when the shop is busy its request threads win the CPU.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

/// Niceness of the hashing threads (0 is normal, 19 the lowest); 10 gives them about a tenth of
/// a busy core's time while request threads are runnable, and all of it when they are not.
const NICE: i32 = 10;

static POOL: OnceLock<mpsc::Sender<Job>> = OnceLock::new();

/// Most hashes waiting or running at once; beyond this, sign-ins are refused for a moment
/// rather than queued for minutes (a flood of logins must not build an endless queue).
pub const MAX_PENDING: usize = 64;

static PENDING: AtomicUsize = AtomicUsize::new(0);

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

/// Why a hash could not run.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// [`MAX_PENDING`] hashes are already waiting.
    #[error("too many sign-ins at once; try again in a few seconds")]
    Busy,
    /// The pool went away (a hashing thread panicked or could not start).
    #[error("the password hashing pool is not running")]
    Gone,
}

/// Leaves the pending count when the job is done (or dropped).
struct Slot;

impl Drop for Slot {
    fn drop(&mut self) {
        PENDING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Run `f` on the hashing pool and wait for its result without blocking the runtime.
pub async fn run<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PoolError> {
    if PENDING.fetch_add(1, Ordering::SeqCst) >= MAX_PENDING {
        PENDING.fetch_sub(1, Ordering::SeqCst);
        return Err(PoolError::Busy);
    }
    let slot = Slot;
    let (tx, rx) = tokio::sync::oneshot::channel();
    POOL.get_or_init(start)
        .send(Box::new(move || {
            let _slot = slot;
            let _ = tx.send(f());
        }))
        .map_err(|_| PoolError::Gone)?;
    rx.await.map_err(|_| PoolError::Gone)
}

impl From<PoolError> for crate::error::ApiError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Busy => crate::error::ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                e.to_string(),
            ),
            PoolError::Gone => crate::error::ApiError::internal(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test, because the pool and its queue are shared by the whole process.
    #[tokio::test]
    async fn runs_off_the_runtime_at_lower_priority_and_refuses_a_flood() {
        let (name, nice) = run(|| {
            let name = std::thread::current().name().map(str::to_string);
            (
                name,
                rustix::process::getpriority_process(Some(rustix::thread::gettid())),
            )
        })
        .await
        .unwrap();
        assert!(name.unwrap().starts_with("sf-hash-"));
        assert_eq!(nice.unwrap(), NICE);

        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        // Block the pool's threads with jobs that wait for a go, more than the queue holds.
        let jobs: Vec<_> = (0..MAX_PENDING + 8)
            .map(|_| {
                let wait = wait.clone();
                tokio::spawn(run(move || {
                    let _ = wait.lock().map(|w| w.recv());
                }))
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(
            PENDING.load(Ordering::SeqCst) <= MAX_PENDING,
            "the queue is capped"
        );
        for _ in 0..MAX_PENDING + 8 {
            release.send(()).unwrap();
        }
        let mut busy = 0;
        for j in jobs {
            if let Err(PoolError::Busy) = j.await.unwrap() {
                busy += 1;
            }
        }
        assert!(busy >= 8, "the overflow was refused, not queued ({busy})");
        assert!(run(|| 1).await.is_ok(), "room again");
    }
}
