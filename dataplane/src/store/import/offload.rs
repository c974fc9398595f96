//! Running a blocking job (syscalls that wait for the disk: `syncfs`, a batch of renames) on a
//! thread of its own while the executor keeps running. The executor polls for the job's end
//! on a 1 ms timer rather than waiting for a wake-up from the other thread: glommio's own
//! `spawn_blocking` left an otherwise idle import executor asleep for good (measured: an
//! import hung at its first commit with nothing else in flight).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs `job` on a new thread and returns its result; `Err` if the thread could not start or
/// died.
pub async fn run<T: Send + 'static>(
    job: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    let done = Arc::new(AtomicBool::new(false));
    let slot = Arc::new(Mutex::new(None));
    let (done2, slot2) = (done.clone(), slot.clone());
    let thread = std::thread::Builder::new()
        .name("import-io".into())
        .spawn(move || {
            let result = job();
            if let Ok(mut s) = slot2.lock() {
                *s = Some(result);
            }
            done2.store(true, Ordering::Release);
        })?;
    while !done.load(Ordering::Acquire) {
        if thread.is_finished() && !done.load(Ordering::Acquire) {
            return Err(std::io::Error::other("the import's I/O thread panicked"));
        }
        glommio::timer::sleep(Duration::from_millis(1)).await;
    }
    // The thread stored its result before setting `done` and holds no lock now.
    let result = slot.try_lock().ok().and_then(|mut s| s.take());
    result.unwrap_or_else(|| {
        Err(std::io::Error::other(
            "the import's I/O thread lost its result",
        ))
    })
}
