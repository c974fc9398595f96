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
