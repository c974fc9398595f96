//! The view of the store that serving needs: which objects exist, with their metadata and
//! totals. A persistent map (structurally shared), so the store's single writer hands every
//! shard a new version in O(1) after each publish, and readers never lock.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hecaton_shared::DataObjectId;

use crate::store::record::ObjectMeta;

/// Published objects and where their files are.
#[derive(Debug, Clone)]
pub struct Catalog {
    objects: imbl::HashMap<DataObjectId, Arc<ObjectMeta>>,
    objects_dir: Arc<Path>,
    total_size: u64,
    version: u64,
}

impl Catalog {
    /// A catalog of `objects`, whose files are in `objects_dir`.
    pub fn new(objects: impl IntoIterator<Item = ObjectMeta>, objects_dir: PathBuf) -> Self {
        let objects: imbl::HashMap<_, _> =
            objects.into_iter().map(|m| (m.id, Arc::new(m))).collect();
        let total_size = objects.values().map(|m| m.size).sum();
        Self {
            objects,
            objects_dir: objects_dir.into(),
            total_size,
            version: 0,
        }
    }

    /// Adds (or replaces) an object.
    pub fn insert(&mut self, meta: ObjectMeta) {
        self.total_size += meta.size;
        if let Some(old) = self.objects.insert(meta.id, Arc::new(meta)) {
            self.total_size -= old.size;
        }
        self.version += 1;
    }

    /// Removes an object, returning its metadata.
    pub fn remove(&mut self, id: DataObjectId) -> Option<Arc<ObjectMeta>> {
        let old = self.objects.remove(&id)?;
        self.total_size -= old.size;
        self.version += 1;
        Some(old)
    }

    /// Whether the object is published.
    pub fn contains(&self, id: DataObjectId) -> bool {
        self.objects.contains_key(&id)
    }

    /// Changes counted since the catalog was built; equal versions of one store hold the same
    /// objects (caches of derived answers key on it).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The object's metadata, if it is published.
    pub fn get(&self, id: DataObjectId) -> Option<&ObjectMeta> {
        self.objects.get(&id).map(|m| &**m)
    }

    /// Number of published objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Sum of object sizes.
    pub fn total_size(&self) -> u64 {
        self.total_size
    }

    /// Every published id, in ascending order.
    pub fn ids(&self) -> Vec<DataObjectId> {
        let mut ids: Vec<_> = self.objects.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// The object's file.
    pub fn path_of(&self, id: DataObjectId) -> PathBuf {
        object_path(&self.objects_dir, id)
    }
}

/// `DIR/objects/<decimal id>`: the id is parsed as a `u64` before it reaches a path.
pub fn object_path(objects_dir: &Path, id: DataObjectId) -> PathBuf {
    objects_dir.join(id.0.to_string())
}

/// The object a file name stands for: only the canonical decimal form (`7`, not `007`), the
/// inverse of [`object_path`].
pub fn id_of_file_name(name: &str) -> Option<DataObjectId> {
    let canonical = !(name.len() > 1 && name.starts_with('0'));
    name.parse().ok().filter(|_| canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(id_of_file_name("7"), Some(DataObjectId(7)));
        assert_eq!(id_of_file_name("0"), Some(DataObjectId(0)));
        for other in [
            "007",
            "00",
            "",
            "7.tmp",
            "-7",
            "notes.txt",
            "18446744073709551616",
        ] {
            assert_eq!(id_of_file_name(other), None, "{other:?}");
        }
        let id = DataObjectId(123456789);
        let path = object_path(Path::new("/s/objects"), id);
        assert_eq!(
            id_of_file_name(path.file_name().unwrap().to_str().unwrap()),
            Some(id)
        );
    }
}
