//! The embedded chain's HTTP client (`hecaton chain`'s API).

use hecaton_shared::BagId;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use futures_util::StreamExt;

use super::{
    BagInfo, BlockStream, Chain, ChainBlock, ChainError, ChannelInfo, FamilyInfo, ObjectInfo,
    StorageBucketInfo, UploadTerms,
};
use hecaton_vocabulary::block::{Block, BlockHash, Inclusion};
use hecaton_vocabulary::call::{Call, Extrinsic, Origin};
use hecaton_vocabulary::storage_types::{Cid, DynamicBagCreationPolicy, DynamicBagType};

/// Connecting to the chain.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// One read or submission, the wait for its block included (blocks come every few seconds).
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// The block stream may go this long without a byte (the chain sends a block every block
/// time, so silence this long is a dead connection; the follower then reconnects).
const STREAM_IDLE: std::time::Duration = std::time::Duration::from_secs(120);

/// A client of `hecaton chain` at a base URL such as `http://127.0.0.1:9955`. Every request
/// has a deadline (issue 14, defect 14: a chain that stopped answering held the node for ever).
#[derive(Debug, Clone)]
pub struct EmbeddedClient {
    base: String,
    http: reqwest::Client,
}

impl EmbeddedClient {
    /// A client for the chain at `base`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(STREAM_IDLE)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client without TLS options always builds"),
        }
    }

    fn transport(&self, e: impl std::fmt::Display) -> ChainError {
        ChainError::Transport {
            url: self.base.clone(),
            message: e.to_string(),
        }
    }

    /// Sends a GET for `path` (under `/api/v1/`), whole within [`REQUEST_TIMEOUT`].
    async fn send_get(&self, path: &str) -> Result<reqwest::Response, ChainError> {
        self.http
            .get(format!("{}/api/v1/{path}", self.base))
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|e| self.transport(e))
    }

    /// GETs `path` (under `/api/v1/`); `None` on 404.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ChainError> {
        let response = self.send_get(path).await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => {
                let text = response.text().await.map_err(|e| self.transport(e))?;
                serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| self.transport(format!("undecodable answer to {path}: {e}")))
            }
            status => Err(refused(status, response).await),
        }
    }

    async fn get_some<T: DeserializeOwned>(&self, path: &str) -> Result<T, ChainError> {
        self.get(path).await?.ok_or_else(|| ChainError::Refused {
            status: 404,
            message: format!("{path} not found"),
        })
    }
}

async fn refused(status: StatusCode, response: reqwest::Response) -> ChainError {
    let body: Value = response.json().await.unwrap_or(Value::Null);
    ChainError::Refused {
        status: status.as_u16(),
        message: body["message"].as_str().unwrap_or("no message").to_string(),
    }
}

impl Chain for EmbeddedClient {
    async fn submit(&self, origin: Origin, call: Call) -> Result<Inclusion, ChainError> {
        let url = format!("{}/api/v1/extrinsics", self.base);
        let response = self
            .http
            .post(&url)
            .json(&Extrinsic { origin, call })
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let status = response.status();
        if status != StatusCode::OK && status != StatusCode::UNPROCESSABLE_ENTITY {
            return Err(refused(status, response).await);
        }
        let text = response.text().await.map_err(|e| self.transport(e))?;
        let inclusion: Inclusion = serde_json::from_str(&text)
            .map_err(|e| self.transport(format!("undecodable inclusion ({e}): {text}")))?;
        match inclusion.error {
            Some(error) => Err(ChainError::Dispatch {
                block: inclusion.block,
                error,
            }),
            None => Ok(inclusion),
        }
    }

    async fn finalized_block(&self) -> Result<u64, ChainError> {
        let health: Value = self.get_some("health").await?;
        health["finalized_block"]
            .as_u64()
            .ok_or_else(|| self.transport("health has no finalized_block"))
    }

    async fn finalized_head(&self) -> Result<(u64, BlockHash), ChainError> {
        let number = self.finalized_block().await?;
        let block: Block = self.get_some(&format!("blocks/{number}")).await?;
        Ok((block.number, block.hash))
    }

    async fn storage_buckets(&self) -> Result<Vec<StorageBucketInfo>, ChainError> {
        self.get_some("storage/buckets").await
    }

    async fn families(&self) -> Result<Vec<FamilyInfo>, ChainError> {
        self.get_some("distribution/families").await
    }

    async fn policy(
        &self,
        bag_type: DynamicBagType,
    ) -> Result<DynamicBagCreationPolicy, ChainError> {
        let mut policies: Value = self.get_some("storage/policies").await?;
        let key = match bag_type {
            DynamicBagType::Member => "Member",
            DynamicBagType::Channel => "Channel",
        };
        serde_json::from_value(policies[key].take()).map_err(|e| self.transport(e))
    }

    async fn upload_terms(&self) -> Result<UploadTerms, ChainError> {
        self.get_some("storage/limits").await
    }

    async fn bag(&self, bag_id: BagId) -> Result<Option<BagInfo>, ChainError> {
        self.get(&format!("storage/bags/{bag_id}")).await
    }

    async fn bag_objects(&self, bag_id: BagId) -> Result<Vec<ObjectInfo>, ChainError> {
        self.get_some(&format!("storage/bags/{bag_id}/objects"))
            .await
    }

    async fn object_ids(&self) -> Result<Vec<u64>, ChainError> {
        self.get_some("storage/objects/ids").await
    }

    async fn blacklist(&self) -> Result<Vec<Cid>, ChainError> {
        self.get_some("storage/blacklist").await
    }

    async fn follow(&self, from: u64) -> Result<BlockStream, ChainError> {
        // A stream without a deadline of its own: the client's read timeout ends it if the chain
        // goes silent.
        let response = self
            .http
            .get(format!(
                "{}/api/v1/blocks?from={from}&follow=true",
                self.base
            ))
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        if !response.status().is_success() {
            return Err(refused(response.status(), response).await);
        }
        let this = self.clone();
        let lines = Box::pin(response.bytes_stream());
        let stream = futures_util::stream::unfold(
            (lines, Vec::<u8>::new(), this),
            |(mut lines, mut buf, this)| async move {
                loop {
                    if let Some(end) = buf.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = buf.drain(..=end).collect();
                        let item = serde_json::from_slice::<Block>(&line)
                            .map(chain_block)
                            .map_err(|e| this.transport(format!("undecodable block: {e}")));
                        return Some((item, (lines, buf, this)));
                    }
                    match lines.next().await {
                        Some(Ok(bytes)) => buf.extend_from_slice(&bytes),
                        Some(Err(e)) => {
                            let err = this.transport(format!("block stream: {e}"));
                            return Some((Err(err), (lines, buf, this)));
                        }
                        None => {
                            let err = this.transport("block stream ended");
                            return Some((Err(err), (lines, Vec::new(), this)));
                        }
                    }
                }
            },
        );
        Ok(Box::pin(stream))
    }

    async fn channel(&self, channel_id: u64) -> Result<Option<ChannelInfo>, ChainError> {
        self.get(&format!("channels/{channel_id}")).await
    }
}

/// The events of a block's successful calls.
fn chain_block(block: Block) -> ChainBlock {
    ChainBlock {
        number: block.number,
        events: block
            .extrinsics
            .into_iter()
            .filter(|x| x.error.is_none())
            .flat_map(|x| x.events)
            .collect(),
    }
}
