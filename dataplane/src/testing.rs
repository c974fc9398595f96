//! What unit tests share: a glommio executor to run a test's future on.

/// Runs `f` to completion on a fresh executor (a small io_uring buffer: tests do little I/O).
pub fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    glommio::LocalExecutorBuilder::default()
        .io_memory(512 * 1024)
        .make()
        .expect("executor")
        .run(f)
}
