//! A distributor's full reconciliation reads every data object id on chain. This measures that
//! read against the in-process fake Joystream node (the control plane's test harness, included
//! by path) holding `OBJECTS` objects (default 3,000,000), both ways: every `DataObjectsById`
//! value fetched with its key (what `reads::object_ids` did before issue 16) and keys only
//! (`state_getKeysPaged`, what it does now). Time is the call's wall time, the fake node's work
//! answering it included (the same for both but the values it encodes and sends); memory is the
//! process's peak resident growth during the call (`VmHWM` reset through `clear_refs` first).
//!
//!   cargo bench -p hecaton --bench reconcile_scale
//!   OBJECTS=1000000 cargo bench -p hecaton --bench reconcile_scale

#![allow(dead_code, missing_debug_implementations)]

#[path = "../tests/it/joystream/codec.rs"]
mod codec;
#[path = "../tests/it/joystream/fake/mod.rs"]
mod fake;
#[path = "../tests/it/joystream/metadata.rs"]
mod metadata;

use std::time::Instant;

use hecaton_controlplane::chain::joystream::config::JoystreamConfig;
use hecaton_controlplane::chain::joystream::keys::Keyring;
use hecaton_controlplane::chain::joystream::{reads, JoystreamClient, JoystreamOptions};
use hecaton_controlplane::chain::Chain;
use hecaton_emulator::runtime::storage::types::{Cid, DataObject, RepayableBloatBond};
use hecaton_shared::{BagId, DynamicBagId};

fn status(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// Runs `f`, returning its result, seconds and peak resident growth in bytes.
async fn measure<T>(f: impl std::future::Future<Output = T>) -> (T, f64, u64) {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status("VmRSS:");
    let started = Instant::now();
    let out = f.await;
    let secs = started.elapsed().as_secs_f64();
    (out, secs, status("VmHWM:").saturating_sub(before))
}

/// Every id with its value, as the client read them before: subxt's storage iteration.
async fn ids_with_values(fake: &fake::FakeNode) -> Vec<u64> {
    let rpc = (fake.connector())().await.expect("rpc");
    let api = subxt::OnlineClient::<JoystreamConfig>::from_rpc_client_with_config(
        JoystreamConfig::default(),
        rpc,
    )
    .await
    .expect("client");
    let at = api.at_current_block().await.expect("at");
    let mut stream = at
        .storage()
        .iter(reads::objects_address(), ())
        .await
        .expect("iter");
    let mut ids = Vec::new();
    while let Some(kv) = stream.next().await {
        let kv = kv.expect("entry");
        let (_, id) = kv.key().and_then(|k| k.decode()).expect("key");
        let _value = kv.value().decode().expect("value");
        ids.push(id);
    }
    ids.sort_unstable();
    ids
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: u64 = std::env::var("OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000_000);
    let Some(fake) =
        fake::FakeNode::start("http://127.0.0.1:9/", fake::dev("//StorageTransactor0"))
    else {
        eprintln!("the fake node needs the joystream feature's metadata");
        return;
    };
    let built = Instant::now();
    fake.create_video(&[b"the first object"]);
    {
        let mut st = fake.state();
        let bag = BagId::Dynamic(DynamicBagId::Channel(0));
        let mut objects = st.model.storage.data_objects_by_id[&bag].clone();
        let cid = Cid(hecaton_shared::ContentId::of(b"x").to_string().into_bytes());
        for id in 1_000_000..1_000_000 + n {
            objects.insert(
                id,
                DataObject {
                    accepted: true,
                    state_bloat_bond: RepayableBloatBond {
                        repayment_restricted_to: None,
                        amount: 1,
                    },
                    size: 1 << 20,
                    ipfs_content_id: cid.clone(),
                },
            );
        }
        st.model.storage.data_objects_by_id.insert(bag, objects);
    }
    fake.produce(Vec::new(), Vec::new());
    eprintln!(
        "fake node with {n} objects built in {:.1} s",
        built.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let client = JoystreamClient::with_connect(
        "fake-node",
        fake.connector(),
        JoystreamOptions {
            keys: Keyring::default(),
            endpoints: Default::default(),
            directory_file: Some(dir.path().join("operators.json")),
            bootstrap: Default::default(),
        },
    );
    // Connected and warm before either measurement.
    client.storage_buckets().await.expect("buckets");

    let (keys, keys_secs, keys_mem) = measure(client.object_ids()).await;
    let keys = keys.expect("keys-only ids");
    let (values, values_secs, values_mem) = measure(ids_with_values(&fake)).await;
    assert_eq!(keys, values, "both ways list the same ids");
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!(
        "machine: {} cores, kernel {}; {} object ids (fake node in process)",
        std::thread::available_parallelism().map_or(0, |p| p.get()),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim(),
        keys.len()
    );
    println!("| read | seconds | peak resident growth, MiB |");
    println!("|---|---|---|");
    println!(
        "| every value with its key (before) | {values_secs:.2} | {:.0} |",
        mib(values_mem)
    );
    println!(
        "| keys only (now) | {keys_secs:.2} | {:.0} |",
        mib(keys_mem)
    );
    println!(
        "| ratio | **{:.2}×** | **{:.2}×** |",
        keys_secs / values_secs,
        mib(keys_mem) / mib(values_mem).max(1.0)
    );
}
