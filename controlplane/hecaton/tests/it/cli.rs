//! The leader, operator and member commands against a running chain.

use hecaton_shared::ContentId;
use serde_json::Value;

use crate::support::{cli, get, ChainProcess};

#[tokio::test]
async fn a_member_creates_a_channel_and_registers_an_upload() {
    let dir = tempfile::tempdir().unwrap();
    let chain = ChainProcess::dev(dir.path());

    let (ok, out, err) = cli(&chain, &["member", "create-channel", "--json"]);
    assert!(ok, "{err}");
    let inclusion: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(inclusion["error"].is_null());

    let file = dir.path().join("video.bin");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    let (ok, out, err) = cli(
        &chain,
        &[
            "member",
            "upload",
            "--register-only",
            "--channel",
            "0",
            file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("Storage.DataObjectsUploaded"), "{out}");

    let (_, objects) = get(&chain.api("storage/bags/dynamic:channel:0/objects")).await;
    assert_eq!(objects[0]["size"], 300_000);
    assert_eq!(
        objects[0]["ipfs_content_id"],
        ContentId::of(&bytes).to_string()
    );
    assert_eq!(objects[0]["accepted"], false);

    // The bucket chosen for the bag is the only accepting one; its voucher counts the object.
    let (_, bucket) = get(&chain.api("storage/buckets/0")).await;
    assert_eq!(bucket["voucher"]["objects_used"], 1);

    // A lead call failing on chain: exit status 1 and the pallet error's name.
    let (ok, _, err) = cli(
        &chain,
        &["leader", "storage", "delete-bucket", "--bucket", "0"],
    );
    assert!(!ok);
    assert!(
        err.contains("Storage.CannotDeleteNonEmptyStorageBucket"),
        "{err}"
    );

    // Operator metadata through the CLI, read back decoded.
    let (ok, _, err) = cli(
        &chain,
        &[
            "operator",
            "storage",
            "set-metadata",
            "--worker",
            "1",
            "--bucket",
            "0",
            "--endpoint",
            "http://example.test/",
            "--city",
            "Berlin",
        ],
    );
    assert!(ok, "{err}");
    let (_, bucket) = get(&chain.api("storage/buckets/0")).await;
    assert_eq!(
        bucket["operator_metadata"]["endpoint"],
        "http://example.test/"
    );
    assert_eq!(bucket["operator_metadata"]["location"]["city"], "Berlin");

    // Deleting the video, then the channel.
    let (ok, _, err) = cli(&chain, &["member", "delete", "--video", "0"]);
    assert!(ok, "{err}");
    let (ok, _, err) = cli(&chain, &["member", "delete", "--channel", "0"]);
    assert!(ok, "{err}");
    let (status, _) = get(&chain.api("storage/bags/dynamic:channel:0")).await;
    assert_eq!(status, 404);
}

/// `hecaton operator ...` against a Joystream node: the key is loaded (never printed), the call
/// goes to the node's URL, and a node that does not answer is an error naming it; member
/// commands are refused there; a bad SURI is named by where it came from, not repeated.
#[test]
fn operator_calls_take_a_joystream_url_and_a_key() {
    let secret = "//JoystreamOperatorSecret";
    let run = |args: &[&str], suri: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hecaton"))
            .args(args)
            .env("HECATON_SURI", suri)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run hecaton");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let set_metadata = [
        "operator",
        "--chain",
        "ws://127.0.0.1:9",
        "storage",
        "set-metadata",
        "--worker",
        "1",
        "--bucket",
        "0",
        "--endpoint",
        "https://node.example/",
    ];
    let (ok, text) = run(&set_metadata, secret);
    assert!(!ok, "nothing listens on port 9: {text}");
    assert!(text.contains("ws://127.0.0.1:9"), "{text}");
    assert!(
        !text.contains("OperatorSecret"),
        "the SURI is never printed: {text}"
    );

    let (ok, text) = run(&set_metadata, "not a valid secret phrase here");
    assert!(!ok);
    assert!(text.contains("not a valid SURI"), "{text}");
    assert!(!text.contains("phrase here"), "{text}");

    let (ok, text) = run(
        &[
            "member",
            "--chain",
            "wss://rpc.example:9944",
            "create-channel",
        ],
        secret,
    );
    assert!(!ok);
    assert!(text.contains("Joystream node"), "{text}");
}

/// `hecaton --version` names the build: the package version, the git revision the binary was
/// built from, and its profile (an operator's bug report then names the exact build).
#[test]
fn the_version_names_the_git_revision_and_the_profile() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hecaton"))
        .arg("--version")
        .output()
        .expect("run hecaton");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("hecaton {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match head {
        Some(rev) => assert!(text.contains(&format!("git {rev}")), "{text} (HEAD {rev})"),
        None => assert!(text.contains("git unknown"), "{text}"),
    }
    assert!(
        text.contains(if cfg!(debug_assertions) {
            "debug build"
        } else {
            "release build"
        }),
        "{text}"
    );
}

/// Every bag and the buckets storing it, from the chain's API.
async fn stored_by(chain: &ChainProcess) -> Vec<(String, Vec<u64>)> {
    let (_, bags) = get(&chain.api("storage/bags")).await;
    bags.as_array()
        .unwrap_or_else(|| panic!("{bags}"))
        .iter()
        .map(|b| {
            let buckets = b["stored_by"]
                .as_array()
                .unwrap_or_else(|| panic!("{b}"))
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            (b["bag_id"].as_str().unwrap().to_string(), buckets)
        })
        .collect()
}

#[tokio::test]
async fn the_storage_lead_sets_replication_copies_and_empties_buckets_with_dry_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["--instant", "--profile", "playground", "--bootstrap", "dev"];
    for _ in 0..3 {
        args.extend(["--storage-endpoint", "http://127.0.0.1:9/"]);
    }
    let chain = ChainProcess::start(dir.path(), &args);
    let before = stored_by(&chain).await;
    assert!(
        before.len() >= 2 && before.iter().all(|(_, b)| b.len() == 3),
        "{before:?}"
    );

    // A dry run prints the calls and changes nothing.
    let (ok, out, err) = cli(
        &chain,
        &[
            "leader",
            "storage",
            "set-replication",
            "--target",
            "2",
            "--dry-run",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let plan: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["calls"].as_array().unwrap().len(), before.len());
    assert_eq!(stored_by(&chain).await, before);

    let (ok, _, err) = cli(
        &chain,
        &[
            "leader",
            "storage",
            "set-replication",
            "--target",
            "2",
            "--batch",
            "4",
        ],
    );
    assert!(ok, "{err}");
    let after = stored_by(&chain).await;
    assert!(after.iter().all(|(_, b)| b.len() == 2), "{after:?}");
    // Empty buckets everywhere: the tie goes to the lowest id, removed from every bag.
    assert!(after.iter().all(|(_, b)| *b == [1, 2]), "{after:?}");

    // Bucket 2 emptied: each bag moves to the bucket with room that does not hold it.
    let (ok, out, err) = cli(
        &chain,
        &["leader", "storage", "empty-bucket", "--bucket", "2"],
    );
    assert!(ok, "{err}");
    assert!(out.contains("update_storage_buckets_for_bag"), "{out}");
    assert!(stored_by(&chain).await.iter().all(|(_, b)| *b == [0, 1]));

    // Bucket 2 copies bucket 0's bags.
    let (ok, _, err) = cli(
        &chain,
        &["leader", "storage", "copy-bags", "--from", "0", "--to", "2"],
    );
    assert!(ok, "{err}");
    assert!(stored_by(&chain).await.iter().all(|(_, b)| *b == [0, 1, 2]));

    // A list of bags from a file.
    let list = dir.path().join("bags.txt");
    let first = &before[0].0;
    std::fs::write(&list, format!("# one bag\n{first}\n")).unwrap();
    let (ok, _, err) = cli(
        &chain,
        &[
            "leader",
            "storage",
            "update-bags",
            "--file",
            list.to_str().unwrap(),
            "--remove",
            "0",
        ],
    );
    assert!(ok, "{err}");
    let now = stored_by(&chain).await;
    let bag = now.iter().find(|(id, _)| id == first).unwrap();
    assert_eq!(bag.1, [1, 2]);
    std::fs::write(&list, "not a bag\n").unwrap();
    let (ok, _, err) = cli(
        &chain,
        &[
            "leader",
            "storage",
            "update-bags",
            "--file",
            list.to_str().unwrap(),
            "--add",
            "0",
        ],
    );
    assert!(!ok && err.contains("line 1"), "{err}");
}

#[tokio::test]
async fn util_commands_and_family_areas() {
    let dir = tempfile::tempdir().unwrap();
    let chain = ChainProcess::dev(dir.path());
    let file = dir.path().join("clip.bin");
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    let (ok, out, err) = cli(&chain, &["util", "multihash", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), ContentId::of(&bytes).to_string());
    let (ok, out, _) = cli(&chain, &["util", "verify-bag-id", "dynamic:channel:7"]);
    assert!(ok);
    assert_eq!(out.trim(), "dynamic:channel:7");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hecaton"))
        .args(["util", "verify-bag-id", "dynamic:chanel:7"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "a usage error");

    // Areas as Argus's CLI takes them: a JSON file, and flags added to it.
    let input = dir.path().join("family.json");
    std::fs::write(
        &input,
        r#"{"region": "eu-central", "areas": [{"continentCode": "EU"}, {"countryCode": "DE"}],
            "latencyTestTargets": ["https://probe.example/"]}"#,
    )
    .unwrap();
    let (ok, _, err) = cli(
        &chain,
        &[
            "leader",
            "distribution",
            "set-bucket-family-metadata",
            "--family",
            "0",
            "--input",
            input.to_str().unwrap(),
            "--subdivision",
            "DE-BE",
        ],
    );
    assert!(ok, "{err}");
    let (_, families) = get(&chain.api("distribution/families")).await;
    let metadata = &families[0]["metadata"];
    assert_eq!(metadata["region"], "eu-central", "{metadata}");
    let areas = metadata["areas"].to_string();
    for want in ["DE-BE", "\"DE\""] {
        assert!(areas.contains(want), "{want} in {areas}");
    }
    assert!(
        metadata["areas"].as_array().unwrap().len() == 3,
        "{metadata}"
    );
}
