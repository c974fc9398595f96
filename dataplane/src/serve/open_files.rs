//! Each shard keeps the files of recently served objects open, so a hit costs no `open`,
//! `fstat` or `close`. Objects are immutable once published, so an open descriptor always has
//! the right bytes; a removed object's descriptor keeps working for the reader that has it.
//! Files are opened through glommio (io_uring `openat`), and their size is checked against the
//! index once, when opened. Files of objects removed from the catalog are closed at the shard's
//! next reaper tick, so their disk space is freed.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::rc::Rc;

use glommio::io::BufferedFile;
use hecaton_shared::{DataObjectId, CONTENT_ID_LEN};

use crate::store::{Catalog, Published};

/// Objects up to this size keep their bytes with the open file: a response is then one
/// `send` of head and body together instead of a `send` and a `sendfile`.
pub const INLINE_MAX: u64 = 16 * 1024;

/// An open object file with what every response for it needs.
#[derive(Debug)]
pub struct OpenObject {
    /// The file.
    pub file: BufferedFile,
    /// `"<content id>"`: the strong entity tag.
    pub etag: [u8; CONTENT_ID_LEN + 2],
    /// The whole object, for objects of at most [`INLINE_MAX`] bytes.
    pub inline: Option<Box<[u8]>>,
}

/// A bounded, per-shard map from object id to open file (first in, first out).
#[derive(Debug)]
pub struct OpenFiles {
    map: RefCell<HashMap<DataObjectId, Rc<OpenObject>>>,
    order: RefCell<VecDeque<DataObjectId>>,
    capacity: usize,
    /// The purge epoch this shard has applied (`crate::views::Purged`).
    purge_seen: std::cell::Cell<u64>,
}

impl OpenFiles {
    /// A cache holding at most `capacity` open files.
    pub fn new(capacity: usize) -> Self {
        Self {
            map: RefCell::new(HashMap::with_capacity(capacity)),
            order: RefCell::new(VecDeque::with_capacity(capacity)),
            capacity: capacity.max(1),
            purge_seen: std::cell::Cell::new(0),
        }
    }

    /// Drops the open files of objects purged since the last look (one atomic load when none
    /// were).
    pub fn apply_purges(&self, purged: &crate::views::Purged) {
        let now = purged.epoch();
        let seen = self.purge_seen.get();
        if now == seen {
            return;
        }
        let mut map = self.map.borrow_mut();
        match purged.since(seen, now) {
            Some(ids) => ids.iter().for_each(|id| {
                map.remove(id);
            }),
            None => map.clear(),
        }
        self.order.borrow_mut().retain(|id| map.contains_key(id));
        self.purge_seen.set(now);
    }

    /// Closes the files of objects `catalog` no longer has.
    pub fn retain_published(&self, catalog: &Catalog) {
        let mut map = self.map.borrow_mut();
        if map.keys().all(|id| catalog.contains(*id)) {
            return;
        }
        map.retain(|id, _| catalog.contains(*id));
        self.order.borrow_mut().retain(|id| map.contains_key(id));
    }

    /// The open file of `meta`'s object, opening it on a miss.
    pub async fn get(&self, catalog: &Catalog, meta: &Published) -> io::Result<Rc<OpenObject>> {
        if let Some(hit) = self.map.borrow().get(&meta.id) {
            return Ok(hit.clone());
        }
        let path = catalog.path_of(meta.id);
        let file = BufferedFile::open(&path).await?;
        let size = file.file_size().await?;
        if size != meta.size {
            let _ = file.close().await;
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} has {size} bytes, the index says {}",
                    path.display(),
                    meta.size
                ),
            ));
        }
        let mut etag = [b'"'; CONTENT_ID_LEN + 2];
        let mut text = [0u8; CONTENT_ID_LEN];
        meta.content_id.write_text(&mut text);
        etag[1..=CONTENT_ID_LEN].copy_from_slice(&text);
        let inline = if size <= INLINE_MAX {
            let bytes = file.read_at(0, size as usize).await?;
            if bytes.len() as u64 != size {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{} is shorter than its size", path.display()),
                ));
            }
            Some(Box::from(&bytes[..]))
        } else {
            None
        };
        let open = Rc::new(OpenObject { file, etag, inline });
        let mut map = self.map.borrow_mut();
        let mut order = self.order.borrow_mut();
        if map.insert(meta.id, open.clone()).is_none() {
            order.push_back(meta.id);
            while order.len() > self.capacity {
                if let Some(old) = order.pop_front() {
                    map.remove(&old);
                }
            }
        }
        Ok(open)
    }
}
