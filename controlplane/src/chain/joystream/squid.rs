//! The operator directory from a Storage-Squid: every storage bucket's published endpoint, as
//! Colossus 4.x and Argus 2.x read it, so that a fresh node knows every peer from its first
//! minute instead of only those that publish again after it started. The query is Colossus's
//! `getStorageBucketDetails` (`storage-node/src/services/queryNode/queries/queries.graphql`),
//! paged by `limit`/`offset` in id order, with the squid's height alongside: the directory is
//! current to that block, and the node reads the blocks after it for newer metadata.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

/// Buckets asked for per page (Colossus's `MAX_RESULTS_PER_QUERY` is 10,000; mainnet has
/// fewer than a hundred buckets, so a page is usually the whole answer).
pub const PAGE: u32 = 1000;

/// The most pages read: a squid that keeps answering full pages is not followed forever.
pub const MAX_PAGES: u32 = 100;

/// The largest answer to one page read (a page of 1000 buckets is about 250 KiB): a squid
/// answering more is refused rather than held in memory.
pub const PAGE_MAX_BYTES: usize = 16 << 20;

/// The longest one page may take.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// The query, as Colossus makes it, with paging and the squid's height.
pub const QUERY: &str = "\
fragment StorageBucketDetails on StorageBucket {
  id
  operatorMetadata {
    id
    nodeEndpoint
  }
  operatorStatus {
    __typename
    ... on StorageBucketOperatorStatusActive {
      workerId
    }
    ... on StorageBucketOperatorStatusInvited {
      workerId
    }
  }
}

query getStorageBucketDetails($limit: Int!, $offset: Int!) {
  squidStatus {
    height
  }
  storageBuckets(orderBy: id_ASC, limit: $limit, offset: $offset) {
    ...StorageBucketDetails
  }
}
";

/// Why the squid could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SquidError {
    /// No answer, or not a 2xx.
    #[error("{url}: {message}")]
    Http {
        /// The squid.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// An answer that is not the schema's, or GraphQL errors.
    #[error("{url}: unexpected answer: {message}")]
    Answer {
        /// The squid.
        url: String,
        /// What is wrong.
        message: String,
    },
}

/// What the squid knows: its height and the endpoint of every bucket that published one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SquidDirectory {
    /// The block the squid has processed.
    pub height: u64,
    /// Bucket id → published endpoint.
    pub endpoints: BTreeMap<u64, String>,
}

#[derive(Deserialize)]
struct Answer {
    data: Option<Data>,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    squid_status: Option<Status>,
    storage_buckets: Vec<Bucket>,
}

#[derive(Deserialize)]
struct Status {
    height: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bucket {
    id: String,
    operator_metadata: Option<Metadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    node_endpoint: Option<String>,
}

/// Reads every bucket's endpoint from the squid at `url`.
pub async fn directory(http: &reqwest::Client, url: &str) -> Result<SquidDirectory, SquidError> {
    let mut out = SquidDirectory::default();
    for page in 0..MAX_PAGES {
        let body = serde_json::json!({
            "operationName": "getStorageBucketDetails",
            "query": QUERY,
            "variables": { "limit": PAGE, "offset": page * PAGE },
        });
        let http_err = |message: String| SquidError::Http {
            url: url.to_string(),
            message,
        };
        let response = http
            .post(url)
            .json(&body)
            .timeout(PAGE_TIMEOUT)
            .send()
            .await
            .map_err(|e| http_err(crate::node::peer_http::describe(&e)))?;
        if !response.status().is_success() {
            return Err(http_err(format!("answered {}", response.status())));
        }
        let mut body = Vec::new();
        let mut response = response;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| http_err(crate::node::peer_http::describe(&e)))?
        {
            if body.len() + chunk.len() > PAGE_MAX_BYTES {
                return Err(http_err(format!(
                    "a page larger than {PAGE_MAX_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&body);
        let page = parse_page(&text).map_err(|message| SquidError::Answer {
            url: url.to_string(),
            message,
        })?;
        out.height = out.height.max(page.height);
        // A full page (buckets without an endpoint count) means there may be more.
        let full = page.buckets >= PAGE as usize;
        out.endpoints.extend(page.endpoints);
        if !full {
            return Ok(out);
        }
    }
    Err(SquidError::Answer {
        url: url.to_string(),
        message: format!("more than {MAX_PAGES} pages of {PAGE} buckets"),
    })
}

/// One page of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The squid's height.
    pub height: u64,
    /// Buckets on the page, with an endpoint or not.
    pub buckets: usize,
    /// The buckets with a usable endpoint.
    pub endpoints: Vec<(u64, String)>,
}

/// Parses one page.
pub fn parse_page(text: &str) -> Result<Page, String> {
    let answer: Answer = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if let Some(first) = answer.errors.first() {
        return Err(format!("GraphQL error: {first}"));
    }
    let data = answer.data.ok_or("no data")?;
    let height = data.squid_status.and_then(|s| s.height).unwrap_or(0);
    let count = data.storage_buckets.len();
    let mut buckets = Vec::with_capacity(count);
    for b in data.storage_buckets {
        let id: u64 = b.id.parse().map_err(|_| format!("bucket id {:?}", b.id))?;
        let endpoint = b.operator_metadata.and_then(|m| m.node_endpoint);
        if let Some(url) = endpoint.filter(|u| url::Url::parse(u).is_ok()) {
            buckets.push((id, url));
        }
    }
    Ok(Page {
        height,
        buckets: count,
        endpoints: buckets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_keep_buckets_with_a_usable_endpoint_and_refuse_errors() {
        let page = r#"{"data":{"squidStatus":{"height":9000},"storageBuckets":[
            {"id":"0","operatorMetadata":{"id":"0-1","nodeEndpoint":"https://a.example/storage/"},
             "operatorStatus":{"__typename":"StorageBucketOperatorStatusActive","workerId":1}},
            {"id":"1","operatorMetadata":null,
             "operatorStatus":{"__typename":"StorageBucketOperatorStatusMissing"}},
            {"id":"2","operatorMetadata":{"id":"2-1","nodeEndpoint":"not a url"},
             "operatorStatus":{"__typename":"StorageBucketOperatorStatusInvited","workerId":4}}]}}"#;
        let page = parse_page(page).unwrap();
        assert_eq!((page.height, page.buckets), (9000, 3));
        assert_eq!(
            page.endpoints,
            vec![(0, "https://a.example/storage/".to_string())]
        );
        assert!(parse_page(r#"{"errors":[{"message":"boom"}]}"#).is_err());
        assert!(parse_page(r#"{"data":{"storageBuckets":[{"id":"x"}]}}"#).is_err());
        assert!(parse_page("<html>").is_err());
    }
}
