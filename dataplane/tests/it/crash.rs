//! SIGKILL in the middle of an import: after restart nothing half-written is served and the
//! temp area is clean. The import commits in batches of 8 (renames, then one directory sync and
//! one index append): a file renamed into `objects/` is published only once its batch's
//! records are appended, so 20 files renamed means at least the first two batches (16) are.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

#[test]
fn sigkill_mid_import_leaves_a_consistent_store() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    const N: u64 = 300;
    for id in 1..=N {
        std::fs::write(src.join(id.to_string()), bytes(256 * 1024, id)).unwrap();
    }
    let store = dir.path().join("store");
    let mut child = Command::new(bin())
        .args(["import", "--batch", "8", "--jobs", "4", "--store"])
        .arg(&store)
        .arg(&src)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once some objects are published, well before all of them are.
    let objects = store.join("objects");
    let t = Instant::now();
    loop {
        let n = std::fs::read_dir(&objects).map(|d| d.count()).unwrap_or(0);
        if n >= 20 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "import made no progress"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let published = std::fs::read_dir(&objects).unwrap().count() as u64;
    assert!(
        published < N,
        "the import finished before it was killed; the test proves nothing"
    );

    let server = Server::start(&store, &[]);
    assert!(
        std::fs::read_dir(store.join("tmp"))
            .unwrap()
            .next()
            .is_none(),
        "temp area swept"
    );
    let mut served = 0;
    for id in 1..=N {
        let r = server.get(&format!("/api/v1/files/{id}"), &[]);
        match r.status {
            200 => {
                assert!(
                    r.body == bytes(256 * 1024, id),
                    "object {id} served with wrong bytes"
                );
                served += 1;
            }
            404 => {}
            s => panic!("object {id}: status {s}"),
        }
    }
    assert!(
        served >= 16,
        "objects of the batches committed before the kill are served ({served})"
    );
    drop(server);

    // Finishing the import afterwards completes the store.
    let out = import(&store, &[src], false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let server = Server::start(&store, &[]);
    for id in [1, N / 2, N] {
        assert_eq!(
            server.get(&format!("/api/v1/files/{id}"), &[]).body,
            bytes(256 * 1024, id)
        );
    }
}
