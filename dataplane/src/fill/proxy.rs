//! Proxying to a storage node, for what is not cached: objects larger than the largest cached
//! item, and ranges that start past what a fill has received. The client's `Range` goes to the
//! first source that answers; its status, length and range come back with the distributor's
//! own headers (`x-data-source: external`), and the body is relayed as it arrives, never more
//! than its declared length.

use std::io;

use futures_lite::AsyncWriteExt;
use glommio::net::TcpStream;
use hecaton_shared::socket::Source;
use hecaton_shared::DataObjectId;

use crate::fetch::client::{self, Timeouts};
use crate::http::request::Request;
use crate::http::response::ResponseHead;
use crate::metrics::Served;
use crate::serve::shard::Shard;

/// Headers of every proxied response.
const EXTERNAL_HEADERS: &[(&str, &[u8])] = &[
    ("X-Cache", b"miss"),
    ("X-Data-Source", b"external"),
    ("Cache-Control", b"max-age=180, must-revalidate"),
    ("Timing-Allow-Origin", b"*"),
    ("Access-Control-Expose-Headers", b"x-cache, x-data-source"),
    ("Content-Disposition", b"inline"),
    ("Accept-Ranges", b"bytes"),
];

/// Relays `req` for object `id` from the first of `sources` that answers; `None` when none did
/// (nothing was sent).
pub async fn serve(
    stream: &mut TcpStream,
    req: &Request,
    shard: &Shard,
    head: &mut ResponseHead,
    id: DataObjectId,
    sources: &[Source],
    keep: bool,
) -> Option<io::Result<bool>> {
    let timeouts: Timeouts = shard.fill_env.timeouts;
    let range = req
        .range
        .as_ref()
        .and_then(|r| std::str::from_utf8(r).ok())
        .map(str::to_string);
    for source in sources {
        let Ok(target) = client::Request::for_object(&source.endpoint, id) else {
            continue;
        };
        let Ok((up, mut body)) =
            client::get(&source.addrs, &target, range.as_deref(), timeouts).await
        else {
            continue;
        };
        if !matches!(up.status, 200 | 206 | 416) || up.chunked {
            continue;
        }
        let len = match (up.status, up.content_length) {
            (416, _) => 0,
            (_, Some(n)) => n,
            (_, None) => continue,
        };
        head.begin(up.status)
            .header(
                "Content-Type",
                up.content_type
                    .as_deref()
                    .unwrap_or("application/octet-stream")
                    .as_bytes(),
            )
            .header_u64("Content-Length", len);
        if let Some((first, last, complete)) = up.content_range {
            head.content_range(first, last, complete);
        }
        for (name, value) in EXTERNAL_HEADERS {
            head.header(name, value);
        }
        let result = async {
            stream.write_all(head.finish(keep, req.http10)).await?;
            if req.method == crate::http::request::Method::Head {
                return Ok(keep);
            }
            let mut left = len;
            let mut buf = vec![0u8; 64 * 1024];
            while left > 0 {
                let want = (left as usize).min(buf.len());
                let n = body.read(&mut buf[..want]).await?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the storage node closed mid-body",
                    ));
                }
                stream.write_all(&buf[..n]).await?;
                left -= n as u64;
            }
            Ok(keep)
        }
        .await;
        if result.is_ok() {
            shard
                .views
                .metrics
                .served(shard.index, Served::Proxied, len);
        }
        return Some(result);
    }
    None
}
