//! The legacy JSON-RPC methods subxt 0.51 uses against a node without `chainHead_v1`
//! (as subxt's legacy RPC methods call them), answered from the fake node's blocks.

use serde_json::{json, Value as Json};
use subxt::ext::codec::Encode;
use subxt_rpcs::{Error, UserError};
use tokio::sync::mpsc;

use super::{Block, FakeNode};

const METHODS: &[&str] = &[
    "rpc_methods",
    "chain_getBlockHash",
    "chain_getFinalizedHead",
    "chain_getHeader",
    "chain_getBlock",
    "chain_subscribeFinalizedHeads",
    "chain_unsubscribeFinalizedHeads",
    "state_call",
    "state_getStorage",
    "state_getKeysPaged",
    "state_queryStorageAt",
    "author_submitAndWatchExtrinsic",
    "author_unwatchExtrinsic",
];

fn hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn unhex(v: &Json) -> Vec<u8> {
    v.as_str()
        .and_then(|s| hex::decode(s.trim_start_matches("0x")).ok())
        .unwrap_or_default()
}

fn user(message: &str) -> Error {
    Error::User(UserError {
        code: -32000,
        message: message.to_string(),
        data: None,
    })
}

fn down() -> Error {
    Error::Client(Box::new(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "connection reset (fake node down)",
    )))
}

fn params(raw: Option<Box<serde_json::value::RawValue>>) -> Vec<Json> {
    raw.and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or_default()
}

impl FakeNode {
    fn block_at<'a>(blocks: &'a [Block], at: Option<&Json>) -> Option<&'a Block> {
        match at.filter(|v| !v.is_null()) {
            None => blocks.last(),
            Some(h) => {
                let hash = unhex(h);
                blocks.iter().find(|b| b.hash.0[..] == hash[..])
            }
        }
    }

    pub(super) async fn request(
        &self,
        method: &str,
        raw: Option<Box<serde_json::value::RawValue>>,
    ) -> Result<Json, Error> {
        let p = params(raw);
        let mut st = self.state();
        if !st.online {
            return Err(down());
        }
        *st.counts.entry(method.to_string()).or_default() += 1;
        if method == "state_call" {
            let name = p.first().and_then(Json::as_str).unwrap_or_default();
            *st.counts.entry(format!("state_call/{name}")).or_default() += 1;
        }
        let blocks = &st.blocks;
        Ok(match method {
            "rpc_methods" => json!({ "methods": METHODS }),
            "chain_getBlockHash" => {
                let n = p.first().and_then(|v| {
                    v.as_u64().or_else(|| {
                        v.as_str()
                            .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
                    })
                });
                let block = match n {
                    Some(n) => blocks.get(n as usize),
                    None => blocks.last(),
                };
                block.map_or(Json::Null, |b| json!(hex(&b.hash.0)))
            }
            "chain_getFinalizedHead" => json!(hex(&blocks.last().expect("genesis").hash.0)),
            "chain_getHeader" => Self::block_at(blocks, p.first()).map_or(Json::Null, |b| {
                serde_json::to_value(&b.header).expect("header")
            }),
            "chain_getBlock" => Self::block_at(blocks, p.first()).map_or(Json::Null, |b| {
                let extrinsics: Vec<String> = b.extrinsics.iter().map(|x| hex(x)).collect();
                json!({
                    "block": { "header": b.header, "extrinsics": extrinsics },
                    "justifications": null,
                })
            }),
            "state_call" => {
                let name = p.first().and_then(Json::as_str).unwrap_or_default();
                let args = p.get(1).map(unhex).unwrap_or_default();
                let block =
                    Self::block_at(blocks, p.get(2)).ok_or_else(|| user("unknown block"))?;
                let answer = match name {
                    "Core_version" => (
                        "joystream-node".to_string(),
                        "joystream-node".to_string(),
                        0u32,
                        block.spec_version,
                        0u32,
                        Vec::<([u8; 8], u32)>::new(),
                        super::metadata::TX_VERSION,
                        1u8,
                    )
                        .encode(),
                    "Metadata_metadata" => self.shared.metadata_bytes.encode(),
                    "AccountNonceApi_account_nonce" => {
                        let account: [u8; 32] =
                            args[..32].try_into().map_err(|_| user("account"))?;
                        let nonce = st
                            .nonces
                            .get(&hecaton_controlplane::account::AccountId(account))
                            .copied()
                            .unwrap_or(0);
                        (nonce as u32).encode()
                    }
                    other => return Err(user(&format!("{other} is not exported by this runtime"))),
                };
                json!(hex(&answer))
            }
            "state_getStorage" => {
                let key = p.first().map(unhex).unwrap_or_default();
                let block =
                    Self::block_at(blocks, p.get(1)).ok_or_else(|| user("unknown block"))?;
                block
                    .storage
                    .get(&key)
                    .map_or(Json::Null, |v| json!(hex(v)))
            }
            "state_getKeysPaged" => {
                let prefix = p.first().map(unhex).unwrap_or_default();
                let count = p.get(1).and_then(Json::as_u64).unwrap_or(1000) as usize;
                let start = p.get(2).filter(|v| !v.is_null()).map(unhex);
                let block =
                    Self::block_at(blocks, p.get(3)).ok_or_else(|| user("unknown block"))?;
                // From the key after `start` (or the prefix) on: a page costs its own keys, not
                // a walk over every key before it (millions of objects in the scale bench).
                let from = match &start {
                    Some(s) if *s >= prefix => std::ops::Bound::Excluded(s.clone()),
                    _ => std::ops::Bound::Included(prefix.clone()),
                };
                let keys: Vec<String> = block
                    .storage
                    .range((from, std::ops::Bound::Unbounded))
                    .map(|(k, _)| k)
                    .take_while(|k| k.starts_with(&prefix))
                    .take(count)
                    .map(|k| hex(k))
                    .collect();
                json!(keys)
            }
            "state_queryStorageAt" => {
                let keys: Vec<Json> = p
                    .first()
                    .and_then(Json::as_array)
                    .cloned()
                    .unwrap_or_default();
                let block =
                    Self::block_at(blocks, p.get(1)).ok_or_else(|| user("unknown block"))?;
                let changes: Vec<Json> = keys
                    .iter()
                    .map(|k| {
                        let value = block.storage.get(&unhex(k)).map(|v| hex(v));
                        json!([k, value])
                    })
                    .collect();
                json!([{ "block": hex(&block.hash.0), "changes": changes }])
            }
            "author_unwatchExtrinsic" | "chain_unsubscribeFinalizedHeads" => json!(true),
            _ => return Err(Error::User(UserError::method_not_found())),
        })
    }

    pub(super) async fn subscribe(
        &self,
        name: &str,
        raw: Option<Box<serde_json::value::RawValue>>,
    ) -> Result<(mpsc::UnboundedReceiver<Json>, String), Error> {
        let p = params(raw);
        let (tx, rx) = mpsc::unbounded_channel();
        match name {
            "chain_subscribeFinalizedHeads" => {
                let mut st = self.state();
                if !st.online {
                    return Err(down());
                }
                *st.counts.entry(name.to_string()).or_default() += 1;
                let head = st.blocks.last().expect("genesis").header.clone();
                let _ = tx.send(serde_json::to_value(&head).expect("header"));
                st.heads.push(tx);
            }
            "author_submitAndWatchExtrinsic" => {
                if !self.state().online {
                    return Err(down());
                }
                let bytes = p.first().map(unhex).unwrap_or_default();
                match self.check(&bytes).await {
                    Ok((signer, nonce, call)) => {
                        let _ = tx.send(json!("ready"));
                        let mut st = self.state();
                        *st.counts.entry(name.to_string()).or_default() += 1;
                        st.checked.push((signer, nonce, call.clone()));
                        st.pool.push(super::Pending {
                            bytes,
                            signer,
                            call,
                            status: tx,
                        });
                    }
                    Err(why) => {
                        self.state().refused.push(why);
                        let _ = tx.send(json!("invalid"));
                    }
                }
            }
            other => return Err(user(&format!("no subscription {other}"))),
        }
        Ok((rx, format!("sub-{}", rand_id())))
    }
}

fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
