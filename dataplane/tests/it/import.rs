//! `hecaton-dataplane import`: copy and move, skips, a live store, unknown files.

use std::path::PathBuf;

use crate::support::*;

fn write_files(dir: &std::path::Path, files: &[(&str, Vec<u8>)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn copy_then_move_then_already_stored() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("uploads");
    let a = bytes(300_000, 1);
    write_files(
        &src,
        &[
            ("10", a.clone()),
            ("11", b"x".to_vec()),
            ("notes.txt", b"?".to_vec()),
            ("012", b"?".to_vec()),
        ],
    );
    let store = dir.path().join("store");

    let out = import(&store, std::slice::from_ref(&src), false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("imported 2 objects (300001 bytes)"), "{text}");
    assert!(text.contains("2 skipped"), "{text}");
    assert!(src.join("10").exists(), "copy leaves the source");

    let again = import(&store, &[src.join("10")], false);
    assert!(String::from_utf8_lossy(&again.stdout).contains("1 already stored"));

    let moved_src = dir.path().join("more");
    write_files(&moved_src, &[("20", bytes(5000, 2))]);
    let out = import(&store, &[moved_src.join("20")], true);
    assert!(out.status.success());
    assert!(
        !moved_src.join("20").exists(),
        "--move renames the file into the store"
    );
    assert!(
        std::fs::read_dir(store.join("tmp"))
            .unwrap()
            .next()
            .is_none(),
        "no temp leftovers"
    );

    let server = Server::start(&store, &[]);
    assert_eq!(server.get("/api/v1/files/10", &[]).body, a);
    assert_eq!(server.get("/api/v1/files/11", &[]).body, b"x");
    assert_eq!(server.get("/api/v1/files/20", &[]).body, bytes(5000, 2));
    assert_eq!(
        server.get("/api/v1/files/12", &[]).status,
        404,
        "012 is not a canonical id"
    );

    // The live store is locked against a concurrent import.
    let out = import(&store, &[moved_src], false);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use by another process"));
}

#[test]
fn files_the_index_does_not_know_are_reported_not_served_and_can_be_adopted() {
    let (_dir, store) = store_with(&[(1, b"known".to_vec())]);
    std::fs::write(store.join("objects/2"), b"dropped in by hand").unwrap();
    {
        let server = Server::start(&store, &[]);
        assert_eq!(server.get("/api/v1/files/2", &[]).status, 404);
        // The check of the store's files runs after serving starts, and says so in the log.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let reported = loop {
            let log = server.log().join("\n");
            if log.contains("the index does not know are not served")
                || std::time::Instant::now() > deadline
            {
                break log;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        assert!(reported.contains("count=1"), "{reported}");
    }
    let out = import(&store, &[store.join("objects/2")], true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let server = Server::start(&store, &[]);
    assert_eq!(
        server.get("/api/v1/files/2", &[]).body,
        b"dropped in by hand"
    );
}

#[test]
fn move_across_filesystems_is_refused_with_a_hint() {
    // /dev/shm is tmpfs, a different filesystem from the temp dir on most machines.
    let shm = PathBuf::from("/dev/shm");
    if !shm.is_dir() {
        return;
    }
    let src = tempfile::tempdir_in(&shm).unwrap();
    std::fs::write(src.path().join("5"), b"five").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let same_fs = std::fs::metadata(src.path())
        .map(|m| std::os::unix::fs::MetadataExt::dev(&m))
        .unwrap()
        == std::fs::metadata(dir.path())
            .map(|m| std::os::unix::fs::MetadataExt::dev(&m))
            .unwrap();
    if same_fs {
        return;
    }
    let out = import(&dir.path().join("store"), &[src.path().join("5")], true);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("without --move"));
    assert!(src.path().join("5").exists(), "the source is untouched");
}

#[test]
fn relative_store_and_source_paths_work() {
    // glommio opened a relative `--store` against no directory: "Bad file descriptor".
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/3"), b"three").unwrap();
    let out = std::process::Command::new(crate::support::bin())
        .current_dir(dir.path())
        .args(["import", "--store", "store", "src"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(dir.path().join("store/objects/3")).unwrap(),
        b"three"
    );
}

/// `<id> <size> <content id>` lines for `files`.
fn expectations(files: &[(u64, &[u8])]) -> String {
    files
        .iter()
        .map(|(id, b)| {
            let cid = hecaton_dataplane::shared::ContentId::of(b);
            format!("{id} {} {cid}\n", b.len())
        })
        .collect()
}

#[test]
fn with_expectations_files_that_differ_from_the_chain_are_left_out_reported_and_not_moved() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("uploads");
    let good = bytes(70_000, 3);
    let corrupt = bytes(5_000, 4);
    let mut flipped = corrupt.clone();
    flipped[4_000] ^= 1;
    write_files(
        &src,
        &[
            ("1", good.clone()),
            ("2", flipped),             // same size, other bytes
            ("3", b"short".to_vec()),   // another size
            ("4", b"unknown".to_vec()), // not on chain
        ],
    );
    std::fs::create_dir(src.join("temp")).unwrap();
    let expect = dir.path().join("expect.txt");
    let three = b"the chain's third object".to_vec();
    std::fs::write(
        &expect,
        expectations(&[(1, &good), (2, &corrupt), (3, &three)]),
    )
    .unwrap();
    let report = dir.path().join("left-out.tsv");
    let store = dir.path().join("store");
    let out = std::process::Command::new(bin())
        .args(["import", "--move", "--store"])
        .arg(&store)
        .arg("--expect")
        .arg(&expect)
        .arg("--report")
        .arg(&report)
        .arg(&src)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(i32::from(
            hecaton_dataplane::shared::exit_code::MIGRATE_LEFT_OUT
        )),
        "{text}"
    );
    assert!(text.contains("imported 1 objects (70000 bytes)"), "{text}");
    assert!(text.contains("3 left out"), "{text}");
    let report = std::fs::read_to_string(&report).unwrap();
    assert_eq!(report.lines().count(), 3, "{report}");
    assert!(report.contains("/2\tcontent id"), "{report}");
    assert!(
        report.contains("/3\tsize 5 bytes, the chain declares 24"),
        "{report}"
    );
    assert!(
        report.contains("/4\tthe chain lists no such object"),
        "{report}"
    );
    for left in ["2", "3", "4"] {
        assert!(src.join(left).exists(), "{left} stays where it was");
    }
    assert!(!src.join("1").exists(), "1 was moved");
    let server = Server::start(&store, &[]);
    assert_eq!(server.get("/api/v1/files/1", &[]).body, good);
    for id in [2, 3, 4] {
        assert_eq!(server.get(&format!("/api/v1/files/{id}"), &[]).status, 404);
    }
}

#[test]
fn a_thousand_files_in_small_batches_are_all_published_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("uploads");
    std::fs::create_dir_all(&src).unwrap();
    for id in 0..1000u64 {
        std::fs::write(src.join(id.to_string()), bytes(100 + id as usize, id)).unwrap();
    }
    let store = dir.path().join("store");
    let out = std::process::Command::new(bin())
        .args(["import", "--jobs", "7", "--batch", "64", "--store"])
        .arg(&store)
        .arg(&src)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("imported 1000 objects"), "{text}");
    let server = Server::start(&store, &[]);
    for id in [0u64, 63, 64, 511, 999] {
        assert_eq!(
            server.get(&format!("/api/v1/files/{id}"), &[]).body,
            bytes(100 + id as usize, id)
        );
    }
}
