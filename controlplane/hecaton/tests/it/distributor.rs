//! A distributor end to end: the embedded chain, a storage node, and `hecaton distributor-node`
//! (control plane + data plane) whose bucket distributes the channels' bags.

use std::time::{SystemTime, UNIX_EPOCH};

use hecaton_controlplane::distributor::jwt::{self, Claims};
use serde_json::{json, Value};

use crate::node::{chain_with, eventually, free_port, DistributorNode, NodeSpec, StorageNode};
use crate::storage::{accepted, upload, video};
use crate::support::{cli, client, ChainProcess};

/// Registers `file` as a video of `channel`; returns its object id.
pub fn register_in(chain: &ChainProcess, channel: u64, file: &std::path::Path) -> u64 {
    let (ok, out, err) = cli(
        chain,
        &[
            "member",
            "upload",
            "--register-only",
            "--channel",
            &channel.to_string(),
            "--json",
            file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    let inclusion: Value = serde_json::from_str(out.trim()).unwrap();
    inclusion["events"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e.get("event")?.get("VideoCreated").cloned())
        .expect("VideoCreated")[2][0]
        .as_u64()
        .unwrap()
}

async fn operator_call(d: &DistributorNode, path: &str, body: Value, token: &str) -> (u16, Value) {
    let r = client()
        .post(format!("{}{path}", d.operator))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn assets_are_served_from_the_cache_with_argus_statuses_and_a_signed_operator_api() {
    let dir = tempfile::tempdir().unwrap();
    let (sport, dport) = (free_port(), free_port());
    let chain = chain_with(&dir.path().join("chain"), &[sport], &[dport]);
    let storage = StorageNode::start(&chain, NodeSpec::new(dir.path(), sport));
    for _ in 0..2 {
        let (ok, _, err) = cli(&chain, &["member", "create-channel"]);
        assert!(ok, "{err}");
    }
    let bytes = video(3_000_000, 7);
    let file = dir.path().join("v.mp4");
    std::fs::write(&file, &bytes).unwrap();
    let id = register_in(&chain, 0, &file);
    let elsewhere = register_in(&chain, 1, &file);
    let (status, body) = upload(&storage, id, 0, &bytes).await;
    assert_eq!(status, 201, "{body}");
    eventually(10, "acceptance", || async {
        accepted(&chain, id).await.then_some(())
    })
    .await;
    // Channel 1's bag is not this distributor's any more.
    let (ok, _, err) = cli(
        &chain,
        &[
            "leader",
            "distribution",
            "update-bag",
            "--bag",
            "dynamic:channel:1",
            "--family",
            "0",
            "--remove",
            "0",
        ],
    );
    assert!(ok, "{err}");

    let d = DistributorNode::start(&chain, dir.path(), 0, dport, "");
    let asset = d.url(&format!("/api/v1/assets/{id}"));
    let first = eventually(20, "the first fetch", || async {
        let r = client().get(&asset).send().await.ok()?;
        (r.status() == 200).then_some(r)
    })
    .await;
    assert_eq!(first.headers()["x-cache"], "miss");
    assert_eq!(
        first.headers()["access-control-expose-headers"],
        "x-cache, x-data-source"
    );
    assert!(first.bytes().await.unwrap() == bytes, "the miss's bytes");
    // Published a moment after the client got its last byte.
    let hit = eventually(10, "a hit", || async {
        let r = client().get(&asset).send().await.ok()?;
        (r.headers().get("x-cache").is_some_and(|v| v == "hit")).then_some(r)
    })
    .await;
    assert_eq!(hit.headers()["x-data-source"], "local");
    assert!(hit.bytes().await.unwrap() == bytes, "the hit's bytes");
    let range = client()
        .get(&asset)
        .header("Range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(range.status(), 206);
    assert!(
        range.bytes().await.unwrap() == bytes[100..200],
        "exactly the range"
    );

    // 404 and 421 as Argus answers them.
    let missing = client()
        .get(d.url("/api/v1/assets/999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let misdirected = eventually(10, "the bag leaving the distributor", || async {
        let r = client()
            .get(d.url(&format!("/api/v1/assets/{elsewhere}")))
            .send()
            .await
            .ok()?;
        (r.status() == 421).then_some(r)
    })
    .await;
    let body: Value = misdirected.json().await.unwrap();
    assert_eq!(body["message"], "Data object not served by this node");
    let buckets: Value = client()
        .get(d.url("/api/v1/buckets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(buckets, json!({ "allByWorkerId": 1 }));

    // The operator API: bad, expired and mismatched tokens are refused; a good one works.
    let good = jwt::sign(
        "test-secret-of-thirty-two-bytes!",
        "/api/v1/stop-api",
        &json!({}),
    )
    .unwrap();
    let forged = jwt::sign("not-the-secret", "/api/v1/stop-api", &json!({})).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expired = jwt::sign_claims(
        "test-secret-of-thirty-two-bytes!",
        &Claims {
            req_url: "/api/v1/stop-api".into(),
            req_body: json!({}),
            iat: now - 600,
            exp: None,
            jti: None,
        },
    );
    let other_url = jwt::sign(
        "test-secret-of-thirty-two-bytes!",
        "/api/v1/start-api",
        &json!({}),
    )
    .unwrap();
    let other_body = jwt::sign(
        "test-secret-of-thirty-two-bytes!",
        "/api/v1/set-worker",
        &json!({ "workerId": 9 }),
    )
    .unwrap();
    assert_eq!(
        operator_call(&d, "/api/v1/stop-api", json!({}), &forged)
            .await
            .0,
        401
    );
    assert_eq!(
        operator_call(&d, "/api/v1/stop-api", json!({}), &expired)
            .await
            .0,
        401
    );
    assert_eq!(
        operator_call(&d, "/api/v1/stop-api", json!({}), &other_url)
            .await
            .0,
        401
    );
    assert_eq!(
        operator_call(
            &d,
            "/api/v1/set-worker",
            json!({ "workerId": 1 }),
            &other_body
        )
        .await
        .0,
        401
    );
    assert_eq!(
        operator_call(&d, "/api/v1/stop-api", json!({}), &good)
            .await
            .0,
        200
    );
    // The same token again is a replay (issue 14, defect 17), refused whatever it asks.
    let replayed = operator_call(&d, "/api/v1/stop-api", json!({}), &good).await;
    assert_eq!(replayed.0, 401, "{replayed:?}");
    assert!(
        replayed.1.to_string().contains("already used"),
        "{replayed:?}"
    );
    let again = jwt::sign(
        "test-secret-of-thirty-two-bytes!",
        "/api/v1/stop-api",
        &json!({}),
    )
    .unwrap();
    assert_eq!(
        operator_call(&d, "/api/v1/stop-api", json!({}), &again).await,
        (409, json!({ "message": "Already stopped" }))
    );
    eventually(10, "the public API closed", || async {
        client().get(&asset).send().await.is_err().then_some(())
    })
    .await;
    let (ok, out, err) = cli(
        &chain,
        &[
            "distributor-api",
            "--url",
            &d.operator,
            "--secret",
            "test-secret-of-thirty-two-bytes!",
            "start-public-api",
        ],
    );
    assert!(ok && out.contains("done"), "{out}{err}");
    eventually(10, "the public API open again", || async {
        let r = client().get(&asset).send().await.ok()?;
        (r.status() == 200).then_some(())
    })
    .await;
    // Status and metrics.
    let s = eventually(10, "cache counters", || async {
        let s = d.status().await;
        (s["cache"]["requests"]["hit"].as_u64() >= Some(2)).then_some(s)
    })
    .await;
    assert_eq!(s["cache"]["origin_fetches"]["stored"], 1, "{s}");
    assert!(s["cache"]["hit_ratio"].as_f64().unwrap() > 0.0);
    let metrics = client()
        .get(format!("{}/metrics", d.operator))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("hecaton_cache_requests_total{served=\"hit\"}"),
        "{metrics}"
    );
    crate::dashboards::assert_exported(crate::dashboards::DISTRIBUTOR, &metrics);

    // The data plane's access log (`[dataplane] access_log`) has the miss and the hits, with
    // the object id: what `hecaton-bench cache-sim --trace` replays.
    let log = dir.path().join("access-0.log");
    let lines = eventually(5, "access log lines", || async {
        let text = std::fs::read_to_string(&log).ok()?;
        let asset = format!("/api/v1/assets/{id} ");
        let ours: Vec<String> = text
            .lines()
            .filter(|l| l.contains(&asset))
            .map(str::to_owned)
            .collect();
        (ours.len() >= 3).then_some(ours)
    })
    .await;
    // (The first lines may be 503s from before the distributor knew its sources.)
    let caches: Vec<&str> = lines
        .iter()
        .filter(|l| l.split(' ').nth(4) == Some("200"))
        .filter_map(|l| l.rsplit(' ').next())
        .collect();
    assert_eq!(caches.first(), Some(&"miss"), "{lines:?}");
    assert!(caches.contains(&"hit"), "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| l.split(' ').nth(7) == Some(&id.to_string()[..])),
        "{lines:?}"
    );
}
