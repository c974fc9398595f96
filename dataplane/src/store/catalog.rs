//! The read-only view of the store that serving needs: which objects exist, with their metadata
//! and totals. Built once after recovery and shared by every shard without locks.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hecaton_shared::DataObjectId;

use crate::store::record::ObjectMeta;

/// Published objects and where their files are.
#[derive(Debug)]
pub struct Catalog {
    objects: HashMap<DataObjectId, ObjectMeta>,
    objects_dir: PathBuf,
    total_size: u64,
}

impl Catalog {
    /// A catalog of `objects`, whose files are in `objects_dir`.
    pub fn new(objects: HashMap<DataObjectId, ObjectMeta>, objects_dir: PathBuf) -> Self {
        let total_size = objects.values().map(|m| m.size).sum();
        Self {
            objects,
            objects_dir,
            total_size,
        }
    }

    /// The object's metadata, if it is published.
    pub fn get(&self, id: DataObjectId) -> Option<&ObjectMeta> {
        self.objects.get(&id)
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
