//! Sending registered objects' bytes to a storage node of their bag, as the Joystream CLI does:
//! the bag's storage buckets' published endpoints, the first that answers `/api/v1/version`
//! takes the file. Hecaton nodes get a resumable (tus) upload in parts of `PART` bytes, each
//! retried from the node's offset after a failure, so a cut connection costs at most a part;
//! nodes without tus (Colossus) get a multipart `POST /api/v1/files`. Then wait until the chain
//! lists the objects as accepted.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::stream;
use hecaton_controlplane::chain::Chain;
use hecaton_shared::BagId;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::AsyncReadExt;

use super::output;

/// Storage nodes of `bag`: (bucket id, endpoint) of every bucket storing it with an endpoint.
async fn nodes_of(chain: &impl Chain, bag: BagId) -> anyhow::Result<Vec<(u64, String)>> {
    let info = chain
        .bag(bag)
        .await
        .map_err(output::chain_error)?
        .with_context(|| format!("bag {bag} does not exist"))?;
    let buckets = chain.storage_buckets().await.map_err(output::chain_error)?;
    Ok(buckets
        .into_iter()
        .filter(|b| info.bag.stored_by.contains(&b.id))
        .filter_map(|b| Some((b.id, b.operator_metadata?.endpoint?)))
        .collect())
}

/// Sends each `(object id, file)` of `bag` to one of its storage nodes.
pub async fn send_all(
    chain: &impl Chain,
    bag: BagId,
    objects: &[(u64, PathBuf)],
    quiet: bool,
) -> anyhow::Result<()> {
    let nodes = nodes_of(chain, bag).await?;
    if nodes.is_empty() {
        bail!("no storage bucket of {bag} publishes an endpoint");
    }
    let http = hecaton_controlplane::node::peer_http::tool_client();
    for (id, path) in objects {
        let mut last_error = None;
        let mut sent = false;
        for (bucket, endpoint) in &nodes {
            let base = endpoint.trim_end_matches('/');
            let alive = http
                .get(format!("{base}/api/v1/version"))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if !alive {
                last_error = Some(format!("{endpoint} does not answer"));
                continue;
            }
            let transfer = Transfer {
                http: &http,
                base,
                bucket: *bucket,
                bag,
                id: *id,
                path,
                quiet,
            };
            let sent_by = match transfer.tus().await {
                Ok(Some(how)) => Ok(how),
                Ok(None) => transfer.multipart().await,
                Err(e) => Err(e),
            };
            match sent_by {
                Ok(how) => {
                    if !quiet {
                        println!("object {id}: sent to bucket {bucket} ({endpoint}): {how}");
                    }
                    sent = true;
                    break;
                }
                Err(e) => last_error = Some(format!("{endpoint}: {e:#}")),
            }
        }
        if !sent {
            bail!(
                "object {id} ({}) could not be sent: {}",
                path.display(),
                last_error.unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// Bytes per PATCH.
const PART: u64 = 8 << 20;
/// Failed PATCHes tolerated per object (each resumes from the node's offset).
const ATTEMPTS: u32 = 5;

/// One object to one node.
struct Transfer<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    bucket: u64,
    bag: BagId,
    id: u64,
    path: &'a Path,
    quiet: bool,
}

impl Transfer<'_> {
    /// The query parameters both upload APIs take.
    fn target(&self) -> [(&'static str, String); 3] {
        [
            ("dataObjectId", self.id.to_string()),
            ("storageBucketId", self.bucket.to_string()),
            ("bagId", self.bag.to_string()),
        ]
    }

    async fn open(&self) -> anyhow::Result<(tokio::fs::File, u64)> {
        let file = tokio::fs::File::open(self.path)
            .await
            .with_context(|| format!("open {}", self.path.display()))?;
        let size = file.metadata().await?.len();
        Ok((file, size))
    }

    /// A multipart upload streamed from the file.
    async fn multipart(&self) -> anyhow::Result<String> {
        let (http, base, id, path, quiet) = (self.http, self.base, self.id, self.path, self.quiet);
        let (file, size) = self.open().await?;
        let bar = progress(quiet, size, id);
        let progress = bar.clone();
        let body = stream::unfold(file, move |mut file| {
            let progress = progress.clone();
            async move {
                let mut buf = vec![0u8; 256 * 1024];
                match file.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        progress.inc(n as u64);
                        Some((Ok::<_, std::io::Error>(buf), file))
                    }
                    Err(e) => Some((Err(e), file)),
                }
            }
        });
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        let part =
            reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(body), size)
                .file_name(name)
                .mime_str("application/octet-stream")?;
        let form = reqwest::multipart::Form::new().part("file", part);
        let response = http
            .post(format!("{base}/api/v1/files"))
            .query(&self.target())
            .multipart(form)
            .send()
            .await?;
        bar.finish_and_clear();
        let status = response.status();
        let json: serde_json::Value = response.json().await.unwrap_or_default();
        if status.as_u16() != 201 {
            bail!(
                "{status}: {}",
                json["message"].as_str().unwrap_or("no message")
            );
        }
        Ok(format!(
            "multipart upload, content id {}",
            json["id"].as_str().unwrap_or_default()
        ))
    }

    /// A tus upload; `Ok(None)` if the node does not speak tus.
    async fn tus(&self) -> anyhow::Result<Option<String>> {
        let (http, base, id, quiet) = (self.http, self.base, self.id, self.quiet);
        let (mut file, size) = self.open().await?;
        let created = http
            .post(format!("{base}/api/v1/uploads"))
            .query(&self.target())
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", size.to_string())
            .send()
            .await?;
        let location = match created.status().as_u16() {
            // The upload's URL is a capability (a random token in its path): it is taken from
            // the answer, never made from the object id.
            201 => match created
                .headers()
                .get("Location")
                .and_then(|v| v.to_str().ok())
            {
                Some(l) if l.starts_with('/') => format!("{base}{l}"),
                Some(l) => l.to_string(),
                None => bail!("the node created the upload without a Location"),
            },
            404 | 405 => return Ok(None),
            status => {
                let json: serde_json::Value = created.json().await.unwrap_or_default();
                bail!(
                    "{status}: {}",
                    json["message"].as_str().unwrap_or("no message")
                );
            }
        };
        let bar = progress(quiet, size, id);
        let mut failures = 0;
        loop {
            let head = http
                .head(&location)
                .header("Tus-Resumable", "1.0.0")
                .send()
                .await?;
            let offset: u64 = head
                .headers()
                .get("Upload-Offset")
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .with_context(|| format!("{location}: no Upload-Offset ({})", head.status()))?;
            bar.set_position(offset);
            if offset >= size {
                break;
            }
            let len = PART.min(size - offset);
            let mut buf = vec![0u8; len as usize];
            tokio::io::AsyncSeekExt::seek(&mut file, std::io::SeekFrom::Start(offset)).await?;
            file.read_exact(&mut buf).await?;
            let sent = http
                .patch(&location)
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Offset", offset.to_string())
                .header("Content-Type", "application/offset+octet-stream")
                .body(buf)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().as_u16() == 204 => failures = 0,
                Ok(r) if r.status().is_client_error() && r.status().as_u16() != 409 => {
                    let status = r.status();
                    let json: serde_json::Value = r.json().await.unwrap_or_default();
                    bail!(
                        "{status}: {}",
                        json["message"].as_str().unwrap_or("no message")
                    );
                }
                other => {
                    failures += 1;
                    if failures > ATTEMPTS {
                        bail!("upload of object {id} kept failing: {other:?}");
                    }
                    tokio::time::sleep(Duration::from_millis(200 << failures)).await;
                }
            }
        }
        bar.finish_and_clear();
        Ok(Some("resumable upload, verified by the node".to_string()))
    }
}

fn progress(quiet: bool, size: u64, id: u64) -> ProgressBar {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(size).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
                .expect("a valid template")
                .progress_chars("=> "),
        )
    };
    bar.set_message(format!("object {id}"));
    bar
}

/// Waits until the chain lists every object in `ids` of `bag` as accepted.
pub async fn wait_accepted(
    chain: &impl Chain,
    bag: BagId,
    ids: &[u64],
    within: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        let objects = chain.bag_objects(bag).await.map_err(output::chain_error)?;
        let waiting = ids
            .iter()
            .filter(|id| !objects.iter().any(|o| o.id == **id && o.object.accepted))
            .count();
        if waiting == 0 {
            return Ok(started.elapsed());
        }
        if started.elapsed() > within {
            bail!(
                "{waiting} of {} objects not accepted on chain after {within:?}",
                ids.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
