//! The expectations file `import --expect` checks files against: what the chain declares each
//! object to be, one per line, `<id> <size> <content id>` (whitespace separated; `#` starts a
//! comment). `hecaton storage-node migrate` writes it from the chain; an operator can write one
//! by hand.

use std::collections::HashMap;
use std::path::Path;

use glommio::io::BufferedFile;
use hecaton_shared::{ContentId, DataObjectId};

use crate::store::error::{IoContext, StoreError};

/// What one object must be, as the chain declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// Size in bytes.
    pub size: u64,
    /// The content id; `Err` holds the chain's text when it is not a BLAKE3 content id (no
    /// file can match it).
    pub content_id: Result<ContentId, String>,
}

/// Why the expectations file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ExpectError {
    /// It could not be read.
    #[error(transparent)]
    Read(#[from] StoreError),
    /// A line is not `<id> <size> <content id>`.
    #[error("{path}:{line}: expected `<id> <size> <content id>`, found {text:?}")]
    Line {
        /// The file.
        path: String,
        /// The 1-based line.
        line: usize,
        /// The line.
        text: String,
    },
}

/// Parses the text of an expectations file (`path` names it in errors).
pub fn parse(text: &str, path: &str) -> Result<HashMap<DataObjectId, Declared>, ExpectError> {
    let mut out = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let bad = || ExpectError::Line {
            path: path.to_owned(),
            line: i + 1,
            text: raw.to_owned(),
        };
        let mut fields = line.split_whitespace();
        let (Some(id), Some(size), Some(cid), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad());
        };
        let id = hecaton_shared::parse_decimal_u64(id).map_err(|_| bad())?;
        let size = hecaton_shared::parse_decimal_u64(size).map_err(|_| bad())?;
        let content_id = cid.parse::<ContentId>().map_err(|_| cid.to_owned());
        out.insert(DataObjectId(id), Declared { size, content_id });
    }
    Ok(out)
}

/// Reads and parses an expectations file.
pub async fn read(path: &Path) -> Result<HashMap<DataObjectId, Declared>, ExpectError> {
    let file = BufferedFile::open(path).await.ctx("open", path)?;
    let mut text = Vec::new();
    let mut pos = 0u64;
    loop {
        let chunk = file.read_at(pos, 1 << 20).await.ctx("read", path)?;
        if chunk.is_empty() {
            break;
        }
        pos += chunk.len() as u64;
        text.extend_from_slice(&chunk);
    }
    let _ = file.close().await;
    let text = String::from_utf8_lossy(&text);
    parse(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_and_foreign_content_ids() {
        let cid = ContentId::of(b"x").to_string();
        let text = format!("# id size cid\n7 1 {cid}\n\n  8\t2  QmNotBlake3  # a v0 CID\n");
        let m = parse(&text, "e").unwrap();
        assert_eq!(m[&DataObjectId(7)].size, 1);
        assert_eq!(m[&DataObjectId(7)].content_id, Ok(ContentId::of(b"x")));
        assert_eq!(
            m[&DataObjectId(8)].content_id,
            Err("QmNotBlake3".to_owned())
        );
        assert!(parse("7 1", "e").is_err());
        assert!(parse("7 x cid", "e").is_err());
        assert!(parse("7 1 cid extra", "e").is_err());
    }
}
