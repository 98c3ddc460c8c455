//! Supervised background workers. Each worker is a loop around a step; the supervisor
//! runs it in its own task, restarts it after a panic (with a logged error and a
//! growing pause), and keeps its heartbeat: the time it last finished a step.
//! `/readyz` names every worker that has not finished a step within its expected
//! interval.
//!
//! ```ignore
//! let hb = supervisor.spawn("email_sender", Duration::from_secs(60), move |hb| {
//!     let state = state.clone();
//!     async move {
//!         loop {
//!             let _ = send_some(&state).await; // one bounded step
//!             hb.beat();                       // it finished
//!             tokio::time::sleep(idle).await;  // (only when there was nothing to do)
//!         }
//!     }
//! });
//! ```
//!
//! A worker that waits for work without a bound (a queue) should wait with a timeout
//! shorter than its interval and beat when it runs out, so that idleness does not
//! look like a stall.
use std::{
    collections::BTreeMap,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{sync::watch, task::JoinHandle, time::Instant};

/// First pause before restarting a worker that panicked; doubles up to `MAX_BACKOFF`
/// while the worker keeps panicking before it finishes a step.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The workers this process runs and their heartbeats. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    workers: Mutex<BTreeMap<String, Slot>>,
    /// Bumped on every beat and restart, for tests that wait for one.
    changes: watch::Sender<u64>,
    /// Test hook: time added to the liveness clock (milliseconds).
    skew_ms: AtomicU64,
}

struct Slot {
    expected: Duration,
    /// When it last finished a step (at first: when it was started).
    last_step: Instant,
    steps: u64,
    restarts: u64,
    /// Test hook: panic at the next this-many beats.
    panics_armed: u64,
}

/// What `/readyz` and tests see of one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerStatus {
    pub name: String,
    /// Steps finished since the process started.
    pub steps: u64,
    /// Times it was restarted after a panic.
    pub restarts: u64,
    /// Time since it last finished a step (or since it started, before its first).
    pub since_last_step: Duration,
    pub expected: Duration,
    pub stalled: bool,
}

/// Handed to a worker's loop; `beat` after each finished step.
#[derive(Clone)]
pub struct Heartbeat {
    name: Arc<str>,
    supervisor: Supervisor,
}

impl Heartbeat {
    /// The worker finished a step (with or without work). Test hook: when a test armed
    /// a panic for this worker, panics here, as a failing step would.
    pub fn beat(&self) {
        let inject = {
            let mut workers = self.supervisor.lock();
            let now = self.supervisor.now();
            match workers.get_mut(&*self.name) {
                Some(slot) if slot.panics_armed > 0 => {
                    slot.panics_armed -= 1;
                    true
                }
                Some(slot) => {
                    slot.last_step = now;
                    slot.steps += 1;
                    false
                }
                None => false,
            }
        };
        self.supervisor.changed();
        if inject {
            panic!("injected panic in worker {}", self.name);
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Supervisor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `work` as the worker `name`, expected to finish a step at least every
    /// `expected`. `work` is called again (with the same heartbeat) whenever the future
    /// it returned panicked, after a pause that grows while it keeps panicking before
    /// finishing a step. When the future returns, the worker is done and forgotten.
    pub fn spawn<F, Fut>(
        &self,
        name: impl Into<String>,
        expected: Duration,
        mut work: F,
    ) -> JoinHandle<()>
    where
        F: FnMut(Heartbeat) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let name: Arc<str> = name.into().into();
        let now = self.now();
        self.lock().insert(
            name.to_string(),
            Slot {
                expected,
                last_step: now,
                steps: 0,
                restarts: 0,
                panics_armed: 0,
            },
        );
        self.changed();
        let supervisor = self.clone();
        tokio::spawn(async move {
            // However the task ends (finished, or aborted), the worker is forgotten.
            let _registered = Registered(supervisor.clone(), name.clone());
            let heartbeat = Heartbeat {
                name: name.clone(),
                supervisor: supervisor.clone(),
            };
            let mut backoff = FIRST_BACKOFF;
            loop {
                let steps_before = supervisor.steps(&name);
                let mut run = AbortOnDrop(tokio::spawn(work(heartbeat.clone())));
                match (&mut run.0).await {
                    Ok(()) => {
                        tracing::info!(worker = %name, "worker finished");
                        return;
                    }
                    Err(e) if e.is_panic() => {
                        let message = panic_message(e.into_panic());
                        if supervisor.steps(&name) > steps_before {
                            backoff = FIRST_BACKOFF;
                        }
                        tracing::error!(
                            worker = %name,
                            panic = %message,
                            restart_in_ms = backoff.as_millis() as u64,
                            "worker panicked; restarting it"
                        );
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        if let Some(slot) = supervisor.lock().get_mut(&*name) {
                            slot.restarts += 1;
                        }
                        supervisor.changed();
                    }
                    // Cancelled: the runtime is shutting down.
                    Err(_) => return,
                }
            }
        })
    }

    /// Every worker, by name.
    pub fn status(&self) -> Vec<WorkerStatus> {
        let now = self.now();
        self.lock()
            .iter()
            .map(|(name, slot)| {
                let since = now.saturating_duration_since(slot.last_step);
                WorkerStatus {
                    name: name.clone(),
                    steps: slot.steps,
                    restarts: slot.restarts,
                    since_last_step: since,
                    expected: slot.expected,
                    stalled: since > slot.expected,
                }
            })
            .collect()
    }

    /// Names of the workers that have not finished a step within their interval.
    pub fn stalled(&self) -> Vec<String> {
        self.status()
            .into_iter()
            .filter(|w| w.stalled)
            .map(|w| w.name)
            .collect()
    }

    /// One worker's status.
    pub fn worker(&self, name: &str) -> Option<WorkerStatus> {
        self.status().into_iter().find(|w| w.name == name)
    }

    /// Test hook: the next `n` beats of `name` panic instead.
    pub fn inject_panics(&self, name: &str, n: u64) {
        if let Some(slot) = self.lock().get_mut(name) {
            slot.panics_armed = n;
        }
    }

    /// Test hook: the liveness clock jumps ahead by `by` (beats after this are
    /// recorded on the jumped clock, so a worker that keeps stepping is fine again).
    pub fn pretend_elapsed(&self, by: Duration) {
        self.inner
            .skew_ms
            .fetch_add(by.as_millis() as u64, Ordering::Relaxed);
    }

    /// Waits until `done` holds for the worker `name` (re-checked at every beat and
    /// restart of any worker). Callers bound it with a timeout.
    pub async fn wait_until(&self, name: &str, done: impl Fn(&WorkerStatus) -> bool) {
        let mut changes = self.inner.changes.subscribe();
        loop {
            if self.worker(name).is_some_and(|w| done(&w)) {
                return;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    fn steps(&self, name: &str) -> u64 {
        self.lock().get(name).map_or(0, |s| s.steps)
    }

    fn now(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.inner.skew_ms.load(Ordering::Relaxed))
    }

    fn changed(&self) {
        self.inner.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Slot>> {
        self.inner.workers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Registered(Supervisor, Arc<str>);

impl Drop for Registered {
    fn drop(&mut self) {
        self.0.lock().remove(&*self.1);
        self.0.changed();
    }
}

/// Aborting a supervisor's task aborts the run it is waiting for.
pub struct AbortOnDrop<T>(pub JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(not a string)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;

    const WAIT: Duration = Duration::from_secs(20);

    #[tokio::test]
    async fn a_worker_that_panics_is_restarted_and_steps_again() {
        let sup = Supervisor::new();
        let runs = Arc::new(AtomicU32::new(0));
        let r = runs.clone();
        sup.spawn("w", Duration::from_secs(60), move |hb| {
            let r = r.clone();
            async move {
                let run = r.fetch_add(1, Ordering::SeqCst);
                if run == 0 {
                    panic!("first run fails");
                }
                loop {
                    hb.beat();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        });
        tokio::time::timeout(
            WAIT,
            sup.wait_until("w", |w| w.restarts == 1 && w.steps >= 2),
        )
        .await
        .expect("restarted and stepping");
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert!(sup.stalled().is_empty());
    }

    #[tokio::test]
    async fn a_worker_without_a_step_in_its_interval_is_stalled() {
        let sup = Supervisor::new();
        sup.spawn("quiet", Duration::from_secs(60), |_hb| {
            std::future::pending()
        });
        sup.spawn("busy", Duration::from_secs(60), |hb| async move {
            loop {
                hb.beat();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        assert!(sup.stalled().is_empty(), "a fresh worker has its interval");
        let before = sup.worker("busy").unwrap().steps;
        sup.pretend_elapsed(Duration::from_secs(61));
        tokio::time::timeout(WAIT, sup.wait_until("busy", |w| w.steps > before + 1))
            .await
            .unwrap();
        assert_eq!(sup.stalled(), vec!["quiet".to_owned()]);
    }

    #[tokio::test]
    async fn an_armed_panic_in_beat_restarts_the_worker() {
        let sup = Supervisor::new();
        sup.spawn("w", Duration::from_secs(60), |hb| async move {
            loop {
                hb.beat();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        sup.inject_panics("w", 1);
        tokio::time::timeout(WAIT, sup.wait_until("w", |w| w.restarts == 1))
            .await
            .unwrap();
        let after = sup.worker("w").unwrap().steps;
        tokio::time::timeout(WAIT, sup.wait_until("w", |w| w.steps > after))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_finished_worker_is_forgotten() {
        let sup = Supervisor::new();
        let h = sup.spawn(
            "once",
            Duration::from_secs(1),
            |hb| async move { hb.beat() },
        );
        h.await.unwrap();
        assert!(sup.worker("once").is_none());
    }
}
