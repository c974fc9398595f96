//! Durability: a chain killed while calls stream in keeps every call it acknowledged, and a
//! clean restart replays to the identical state.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{get, submit, ChainProcess};

#[tokio::test]
async fn a_killed_chain_keeps_every_acknowledged_block() {
    let dir = tempfile::tempdir().unwrap();
    let chain = ChainProcess::dev(dir.path());
    let url = Arc::new(chain.api("extrinsics"));
    let acked: Arc<Mutex<Vec<(u64, String, u64)>>> = Arc::default();
    let mut tasks = Vec::new();
    for t in 0..4 {
        let (url, acked) = (url.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let handle = format!("t{t}-{i}");
                let body = json!({"origin": {"Signed": format!("//{handle}")}, "call": {"pallet": "Members", "call": {"buy_membership": {"handle": handle}}}});
                let response = crate::support::client()
                    .post(url.as_str())
                    .json(&body)
                    .send()
                    .await;
                let Ok(response) = response else { break };
                let Ok(inclusion) = response.json::<Value>().await else { break };
                let event = &inclusion["events"][0]["event"]["MembershipBought"];
                acked.lock().unwrap().push((
                    event[0].as_u64().unwrap(),
                    handle,
                    inclusion["block"].as_u64().unwrap(),
                ));
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    chain.kill();
    for task in tasks {
        let _ = task.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 10,
        "too few calls acknowledged before the kill: {}",
        acked.len()
    );

    let chain = ChainProcess::dev(dir.path());
    let (_, health) = get(&chain.api("health")).await;
    let max_block = acked.iter().map(|a| a.2).max().unwrap();
    assert!(health["best_block"].as_u64().unwrap() >= max_block);
    for (member_id, handle, _) in &acked {
        let (status, member) = get(&chain.api(&format!("members/{member_id}"))).await;
        assert_eq!(status, 200, "acknowledged member {member_id} lost");
        assert_eq!(member["handle"], handle.as_str());
    }
    // The restarted chain goes on from where it was.
    let (status, body) = submit(&chain, &json!({"origin": {"Signed": "//After"}, "call": {"pallet": "Members", "call": {"buy_membership": {"handle": "after"}}}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["block"].as_u64().unwrap(),
        health["best_block"].as_u64().unwrap() + 1
    );
}

#[tokio::test]
async fn a_clean_restart_replays_to_the_identical_state() {
    let dir = tempfile::tempdir().unwrap();
    let chain = ChainProcess::dev(dir.path());
    for i in 0..5 {
        let (status, _) = submit(&chain, &json!({"origin": {"Signed": format!("//R{i}")}, "call": {"pallet": "Members", "call": {"buy_membership": {"handle": format!("r{i}")}}}})).await;
        assert_eq!(status, 200);
    }
    let (_, before) = get(&chain.api("state-hash")).await;
    let (_, head_before) = get(&chain.api("health")).await;
    chain.stop();
    let chain = ChainProcess::dev(dir.path());
    let (_, after) = get(&chain.api("state-hash")).await;
    let (_, head_after) = get(&chain.api("health")).await;
    assert_eq!(before, after);
    assert_eq!(head_before["best_hash"], head_after["best_hash"]);
}
