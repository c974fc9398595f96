//! Store behaviour on a real directory, on a glommio executor.

use std::path::Path;

use glommio::io::BufferedFile;
use hecaton_shared::{ContentId, DataObjectId};

use super::*;
use crate::testing::run;

async fn write_tmp(store: &Store, name: &str, bytes: &[u8]) -> (std::path::PathBuf, Digest) {
    let path = store.tmp_dir().join(name);
    let f = BufferedFile::create(&path).await.unwrap();
    index::write_all_at(&f, bytes, 0, &path).await.unwrap();
    f.close().await.unwrap();
    let mut d = Digester::new();
    d.update(bytes);
    (path, d.finish())
}

fn exists(p: &Path) -> bool {
    p.symlink_metadata().is_ok()
}

#[test]
fn publish_survives_reopen_and_rejects_mismatches() {
    let dir = tempfile::tempdir().unwrap();
    run(async {
        let (mut store, rec) = Store::open(dir.path()).await.unwrap();
        assert_eq!(rec.objects, 0);
        let (tmp, digest) = write_tmp(&store, "a", b"hello world").await;
        let expected = Expected {
            size: 11,
            content_id: ContentId::of(b"hello world"),
        };
        store
            .publish(DataObjectId(5), &tmp, digest.clone(), Some(expected))
            .await
            .unwrap();
        assert!(!exists(&tmp), "temp file renamed away");
        assert!(matches!(
            store.publish(DataObjectId(5), &tmp, digest, None).await,
            Err(StoreError::AlreadyStored(_))
        ));

        let (tmp, digest) = write_tmp(&store, "b", b"abc").await;
        let wrong_size = Expected {
            size: 4,
            content_id: ContentId::of(b"abc"),
        };
        let err = store
            .publish(DataObjectId(6), &tmp, digest.clone(), Some(wrong_size))
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            StoreError::SizeMismatch {
                expected: 4,
                actual: 3,
                ..
            }
        ));
        let wrong_id = Expected {
            size: 3,
            content_id: ContentId::of(b"abd"),
        };
        let err = store
            .publish(DataObjectId(6), &tmp, digest, Some(wrong_id))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::ContentMismatch { .. }));
        assert!(
            store.get(DataObjectId(6)).is_none(),
            "nothing unverified is published"
        );
        store.close().await.unwrap();
    });
    run(async {
        let (store, rec) = Store::open(dir.path()).await.unwrap();
        assert_eq!(rec.objects, 1);
        assert_eq!(rec.swept_temp, 1, "the rejected temp file is swept");
        let meta = store.get(DataObjectId(5)).unwrap();
        assert_eq!(meta.size, 11);
        assert_eq!(meta.content_id, ContentId::of(b"hello world"));
        assert!(rec.unknown_files.is_empty());
    });
}

#[test]
fn a_second_process_cannot_open_a_locked_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    run(async move {
        let (_store, _) = Store::open(&path).await.unwrap();
        // A second open in the same process takes a new open file description, so flock
        // conflicts exactly as it would across processes.
        let err = Store::open(&path).await.unwrap_err();
        match err {
            StoreError::Locked { holder, .. } => {
                assert!(holder.contains(&std::process::id().to_string()))
            }
            other => panic!("expected Locked, got {other}"),
        }
    });
}

#[test]
fn unknown_and_missing_files_are_reported_not_served() {
    let dir = tempfile::tempdir().unwrap();
    run(async {
        let (mut store, _) = Store::open(dir.path()).await.unwrap();
        let (tmp, digest) = write_tmp(&store, "x", b"one").await;
        store
            .publish(DataObjectId(1), &tmp, digest, None)
            .await
            .unwrap();
        let (tmp, digest) = write_tmp(&store, "y", b"two").await;
        store
            .publish(DataObjectId(2), &tmp, digest, None)
            .await
            .unwrap();
        store.close().await.unwrap();
    });
    std::fs::remove_file(dir.path().join("objects/2")).unwrap();
    std::fs::write(dir.path().join("objects/77"), b"stray").unwrap();
    run(async {
        let (store, rec) = Store::open(dir.path()).await.unwrap();
        assert_eq!(rec.missing_files, vec![DataObjectId(2)]);
        assert_eq!(rec.unknown_files, vec!["77".to_string()]);
        assert!(store.get(DataObjectId(2)).is_none());
        assert!(store.get(DataObjectId(77)).is_none());
        assert_eq!(store.into_catalog().await.unwrap().0.len(), 1);
    });
}

/// A store opened for serving is usable before its files are checked, and the check is applied
/// against the store as it is then: an object published meanwhile under the id of an
/// interrupted removal keeps its new file, one removed meanwhile is not reported unknown, and a
/// missing file found late still drops its object.
#[test]
fn the_deferred_file_check_applies_to_the_store_as_it_is_when_done() {
    let dir = tempfile::tempdir().unwrap();
    run(async {
        let (mut store, _) = Store::open(dir.path()).await.unwrap();
        for (id, body) in [(1, &b"one"[..]), (2, b"two"), (3, b"three"), (4, b"four")] {
            let (tmp, digest) = write_tmp(&store, "t", body).await;
            store
                .publish(DataObjectId(id), &tmp, digest, None)
                .await
                .unwrap();
        }
        // A removal recorded, its unlink interrupted: the file of 3 stays.
        store.remove_many(&[DataObjectId(3)]).await.unwrap();
        store.close().await.unwrap();
    });
    std::fs::remove_file(dir.path().join("objects/2")).unwrap();
    run(async {
        let (mut store, rec) = Store::open_deferred(dir.path()).await.unwrap();
        assert!(store.file_check_pending());
        assert_eq!(rec.objects, 3, "1, 2 and 4 from the index");
        assert!(store.get(DataObjectId(2)).is_some(), "not checked yet");
        // Before the check is applied: 3 is published again, 4 removed.
        let (tmp, digest) = write_tmp(&store, "t", b"three again").await;
        store
            .publish(DataObjectId(3), &tmp, digest, None)
            .await
            .unwrap();
        store.remove_many(&[DataObjectId(4)]).await.unwrap();
        let check = store.finish_file_check().await.unwrap().unwrap();
        assert!(!store.file_check_pending());
        assert_eq!(check.missing_files, vec![DataObjectId(2)]);
        assert!(check.unknown_files.is_empty(), "{:?}", check.unknown_files);
        assert_eq!(check.finished_removals, 0, "3's file is its new one");
        assert!(store.get(DataObjectId(2)).is_none());
        let three = std::fs::read(dir.path().join("objects/3")).unwrap();
        assert_eq!(three, b"three again");
        assert!(store.finish_file_check().await.unwrap().is_none(), "once");
    });
}

#[test]
fn a_torn_index_tail_is_dropped_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    run(async {
        let (mut store, _) = Store::open(dir.path()).await.unwrap();
        for (i, body) in [b"aaa", b"bbb"].iter().enumerate() {
            let (tmp, digest) = write_tmp(&store, "t", *body).await;
            store
                .publish(DataObjectId(i as u64), &tmp, digest, None)
                .await
                .unwrap();
        }
        store.close().await.unwrap();
    });
    let index = dir.path().join("index.log");
    let len = std::fs::metadata(&index).unwrap().len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&index)
        .unwrap();
    f.set_len(len - 5).unwrap();
    run(async {
        let (mut store, rec) = Store::open(dir.path()).await.unwrap();
        assert!(rec.torn_tail_bytes > 0);
        assert_eq!(rec.objects, 1);
        assert_eq!(
            rec.unknown_files,
            vec!["1".to_string()],
            "its file is reported"
        );
        let (tmp, digest) = write_tmp(&store, "t", b"ccc").await;
        store
            .publish(DataObjectId(9), &tmp, digest, None)
            .await
            .unwrap();
        store.close().await.unwrap();
    });
    run(async {
        let (store, rec) = Store::open(dir.path()).await.unwrap();
        assert_eq!(rec.torn_tail_bytes, 0);
        assert!(store.get(DataObjectId(9)).is_some());
        assert!(store.get(DataObjectId(0)).is_some());
    });
}

#[test]
fn an_index_cut_in_its_header_is_new_and_a_foreign_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.log"), b"HCI").unwrap();
    run(async {
        let (store, rec) = Store::open(dir.path()).await.unwrap();
        assert_eq!(rec.objects, 0);
        store.close().await.unwrap();
    });
    for foreign in [&b"junk"[..], b"not an index at all"] {
        std::fs::write(dir.path().join("index.log"), foreign).unwrap();
        run(async {
            let err = Store::open(dir.path()).await.unwrap_err();
            assert!(matches!(err, StoreError::ForeignIndex { .. }), "{err}");
        });
    }
}

#[test]
fn a_group_commit_publishes_the_good_items_and_refuses_the_others() {
    let dir = tempfile::tempdir().unwrap();
    run(async {
        let (mut store, _) = Store::open(dir.path()).await.unwrap();
        let mut items = Vec::new();
        for (i, bytes) in [&b"one"[..], b"two", b"three"].iter().enumerate() {
            let (from, digest) = write_tmp(&store, &format!("g{i}"), bytes).await;
            let expected = Expected {
                size: digest.size + u64::from(i == 2),
                content_id: digest.content_id,
            };
            let id = DataObjectId(10 + i as u64);
            items.push(Publish {
                id,
                from,
                digest,
                expected: Some(expected),
                bag: None,
                durable: false,
            });
        }
        // Items 0 and 1 name the same object; item 2 has the wrong size.
        items[1].id = DataObjectId(10);
        let results = store.publish_many(items).await;
        assert!(results[0].is_ok());
        assert!(matches!(results[1], Err(StoreError::AlreadyStored(_))));
        assert!(matches!(results[2], Err(StoreError::SizeMismatch { .. })));
        assert_eq!(store.catalog().len(), 1);
        store.close().await.unwrap();
        let (store, rec) = Store::open(dir.path()).await.unwrap();
        assert_eq!(rec.objects, 1, "the committed object is in the index");
        assert_eq!(store.get(DataObjectId(10)).unwrap().size, 3);
        store.close().await.unwrap();
    });
}

#[test]
fn removal_is_durable_and_an_interrupted_unlink_is_finished_at_start() {
    let dir = tempfile::tempdir().unwrap();
    run(async {
        let (mut store, _) = Store::open(dir.path()).await.unwrap();
        let bag: hecaton_shared::BagId = "dynamic:channel:4".parse().unwrap();
        // More than 1 MiB each, so each keeps an outboard.
        let big = |b: u8| vec![b; 1_100_000];
        for (id, bytes) in [(1u64, big(1)), (2, big(2)), (3, big(3))] {
            let (tmp, digest) = write_tmp(&store, &format!("t{id}"), &bytes).await;
            let item = Publish {
                id: DataObjectId(id),
                from: tmp,
                digest,
                expected: None,
                bag: Some(bag),
                durable: false,
            };
            store.publish_many(vec![item]).await.pop().unwrap().unwrap();
        }
        assert_eq!(store.get(DataObjectId(1)).unwrap().bag, Some(bag));
        // 1 is removed completely; 2's record is written but the "crash" comes before its
        // unlink; 9 was never stored.
        let removed = store
            .remove_many(&[DataObjectId(1), DataObjectId(2), DataObjectId(9)])
            .await
            .unwrap();
        assert_eq!(removed, vec![DataObjectId(1), DataObjectId(2)]);
        assert!(
            store.get(DataObjectId(2)).is_none(),
            "out of the catalog at once"
        );
        let objects = store.objects_dir().to_owned();
        let outboards = outboard::dir_of(&objects);
        assert!(exists(&outboards.join("1")));
        unlink_objects(&objects, &[DataObjectId(1)]).await.unwrap();
        assert!(!exists(&objects.join("1")));
        assert!(!exists(&outboards.join("1")), "its outboard goes with it");
        assert!(exists(&objects.join("2")));
        assert!(exists(&outboards.join("2")));
        store.close().await.unwrap();

        let (store, rec) = Store::open(dir.path()).await.unwrap();
        assert_eq!(rec.finished_removals, 1);
        assert!(rec.unknown_files.is_empty(), "{:?}", rec.unknown_files);
        assert!(!exists(&objects.join("2")));
        assert!(!exists(&outboards.join("2")));
        assert!(exists(&outboards.join("3")));
        assert_eq!(
            store.catalog().ids().collect::<Vec<_>>(),
            vec![DataObjectId(3)]
        );
        assert_eq!(
            store.get(DataObjectId(3)).unwrap().bag,
            Some(bag),
            "bag survives replay"
        );
    });
}

#[test]
fn a_file_shorter_than_its_digest_is_never_published() {
    // A short write at disk full: the writer hashed every byte, fewer reached the file.
    let dir = tempfile::tempdir().unwrap();
    run(async {
        let (mut store, _) = Store::open(dir.path()).await.unwrap();
        let bytes = b"a whole object of forty-two bytes, really.";
        let (tmp, digest) = write_tmp(&store, "short", bytes).await;
        let f = glommio::io::OpenOptions::new()
            .write(true)
            .dma_open(&tmp)
            .await
            .unwrap();
        f.truncate(10).await.unwrap();
        f.close().await.unwrap();
        let expected = Expected {
            size: digest.size,
            content_id: digest.content_id,
        };
        let err = store
            .publish(DataObjectId(8), &tmp, digest, Some(expected))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::SizeMismatch { actual: 10, .. }),
            "{err}"
        );
        assert!(store.get(DataObjectId(8)).is_none());
        assert!(!exists(&store.objects_dir().join("8")));
    });
}
