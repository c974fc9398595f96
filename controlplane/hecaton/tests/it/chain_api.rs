//! The chain's HTTP API: statuses, error shapes, the block stream.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::support::{get, submit, ChainProcess};

fn membership(account: &str, handle: &str) -> Value {
    json!({"origin": {"Signed": account}, "call": {"pallet": "Members", "call": {"buy_membership": {"handle": handle}}}})
}

#[tokio::test]
async fn errors_are_json_with_the_right_status() {
    let dir = tempfile::tempdir().unwrap();
    let chain = ChainProcess::dev(dir.path());

    // A bad field → 400 naming it.
    let (status, body) = submit(&chain, &json!({"origin": "Root", "call": {"pallet": "Storage", "call": {"create_storage_bucket": {"invite_worker": null, "accepting_new_bags": "yes", "size_limit": 1, "objects_limit": 1}}}})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["field"],
        "call.call.create_storage_bucket.accepting_new_bags"
    );
    // An unknown call → 400.
    let (status, _) = submit(
        &chain,
        &json!({"origin": "Root", "call": {"pallet": "Storage", "call": {"mint_money": {}}}}),
    )
    .await;
    assert_eq!(status, 400);
    // A pallet error → 422 with its name, and the chain moves on.
    let (status, body) = submit(&chain, &json!({"origin": {"Signed": "//Alice"}, "call": {"pallet": "Storage", "call": {"delete_storage_bucket": {"storage_bucket_id": 99}}}})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"],
        json!({"pallet": "Storage", "error": "StorageBucketDoesntExist"})
    );
    assert!(body["block"].as_u64().unwrap() >= 2);
    // An origin error names the working group.
    let (status, body) = submit(&chain, &json!({"origin": {"Signed": "//Mallory"}, "call": {"pallet": "Storage", "call": {"delete_storage_bucket": {"storage_bucket_id": 0}}}})).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["pallet"], "StorageWorkingGroup");
    assert_eq!(body["error"]["error"], "IsNotLeadAccount");

    let (status, body) = get(&chain.api("storage/bags/dynamic:channel:x")).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("bag_id")));
    let (status, body) = get(&chain.api("storage/buckets/77")).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("NotFound")));
    let (status, body) = get(&chain.api("no/such/route")).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("NotFound")));

    // Reads reflect the bootstrap.
    let (_, buckets) = get(&chain.api("storage/buckets")).await;
    assert_eq!(
        buckets[0]["operator_metadata"]["endpoint"],
        "http://127.0.0.1:3333/"
    );
    assert_eq!(buckets[0]["bags"].as_array().unwrap().len(), 10);
    let (_, families) = get(&chain.api("distribution/families")).await;
    assert_eq!(families[0]["metadata"]["region"], "dev-loopback");
    let (_, policies) = get(&chain.api("storage/policies")).await;
    assert_eq!(policies["Channel"]["number_of_storage_buckets"], 1);
    let (_, limits) = get(&chain.api("storage/limits")).await;
    assert_eq!(limits["constants"]["profile"], "playground");
}

#[tokio::test]
async fn the_block_stream_resumes_from_any_block_and_follows_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let chain = ChainProcess::dev(dir.path());
    for i in 0..3 {
        let (status, _) = submit(&chain, &membership(&format!("//M{i}"), &format!("m{i}"))).await;
        assert_eq!(status, 200);
    }
    let text = reqwest::get(chain.api("blocks?from=2&follow=false"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let blocks: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        blocks
            .iter()
            .map(|b| b["number"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    for pair in blocks.windows(2) {
        assert_eq!(pair[1]["parent_hash"], pair[0]["hash"]);
    }
    assert_eq!(
        blocks[0]["extrinsics"][0]["events"][0]["event"]["MembershipBought"][1],
        "m0"
    );

    // Follow from the next block; a new call shows up on the open stream.
    let response = reqwest::get(chain.api("blocks?from=5")).await.unwrap();
    let mut stream = response.bytes_stream();
    let (status, _) = submit(&chain, &membership("//M9", "m9")).await;
    assert_eq!(status, 200);
    let chunk = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("a block within 10 s")
        .unwrap()
        .unwrap();
    let block: Value =
        serde_json::from_slice(chunk.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(block["number"], 5);
    assert_eq!(
        block["extrinsics"][0]["events"][0]["event"]["MembershipBought"][1],
        "m9"
    );
}

#[tokio::test]
async fn a_web_page_cannot_submit_calls_and_the_body_limit_is_the_apis() {
    // Issue 14, defect 12: a `text/plain` POST (what a page in the operator's browser may send
    // anywhere without a preflight) was taken as a call with a declared Root origin, and
    // axum's 2 MiB limit answered before ours.
    let dir = tempfile::tempdir().unwrap();
    let chain = ChainProcess::dev(dir.path());
    let http = reqwest::Client::new();
    let call = json!({"origin": "Root", "call": {"pallet": "Storage", "call": {"update_uploading_blocked_status": {"new_status": true}}}});
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let r = http
            .post(chain.api("extrinsics"))
            .header("Content-Type", content_type)
            .body(call.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415, "{content_type}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "UnsupportedMediaType");
    }
    let (_, limits) = get(&chain.api("storage/limits")).await;
    assert_eq!(limits["uploading_blocked"], json!(false), "{limits}");
    // Over 4 MiB: the API's own 413 in its own shape (axum's default was 2 MiB, in text).
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(5 << 20));
    let r = http
        .post(chain.api("extrinsics"))
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "PayloadTooLarge");
    // Between 2 and 4 MiB is the API's to judge: a malformed call, 400, not a size refusal.
    let mid = format!("{{\"pad\":\"{}\"}}", "x".repeat(3 << 20));
    let r = http
        .post(chain.api("extrinsics"))
        .header("Content-Type", "application/json")
        .body(mid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
