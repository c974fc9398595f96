//! The view of the store that serving needs: which objects exist, with their metadata and
//! totals. A persistent map (structurally shared), so the store's single writer hands every
//! shard a new version in O(1) after each publish, and readers never lock. One entry costs 64
//! bytes (an [`IdMap`] leaf slot: id, size, content id, media type, packed bag); the chunk
//! crcs stay in the index.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hecaton_shared::{BagId, ContentId, DataObjectId};

use crate::bag_code;
use crate::idmap::IdMap;
use crate::store::media_type::MediaType;
use crate::store::record::ObjectMeta;

/// A published object, as the catalog knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// The data object id (also the file name).
    pub id: DataObjectId,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 content id, verified before publishing.
    pub content_id: ContentId,
    /// Media type sniffed from the first bytes.
    pub media_type: MediaType,
    /// The bag it was stored for (`None` for objects imported from a plain directory).
    pub bag: Option<BagId>,
}

impl From<&ObjectMeta> for Published {
    fn from(m: &ObjectMeta) -> Self {
        Published {
            id: m.id,
            size: m.size,
            content_id: m.content_id,
            media_type: m.media_type,
            bag: m.bag,
        }
    }
}

/// [`Published`] without its id (the map's key), its bag packed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Packed {
    size: u64,
    bag_value: u64,
    content_id: ContentId,
    bag_tag: u8,
    media_type: MediaType,
}

impl Packed {
    pub(crate) fn of(p: &Published) -> Self {
        let (bag_tag, bag_value) = bag_code::pack(p.bag);
        Packed {
            size: p.size,
            bag_value,
            content_id: p.content_id,
            bag_tag,
            media_type: p.media_type,
        }
    }

    fn unpack(self, id: DataObjectId) -> Published {
        Published {
            id,
            size: self.size,
            content_id: self.content_id,
            media_type: self.media_type,
            bag: bag_code::unpack(self.bag_tag, self.bag_value),
        }
    }
}

/// Published objects and where their files are.
#[derive(Debug, Clone)]
pub struct Catalog {
    objects: IdMap<Packed>,
    objects_dir: Arc<Path>,
    total_size: u64,
    version: u64,
}

impl Catalog {
    /// A catalog of `objects`, whose files are in `objects_dir`.
    pub fn new(objects: impl IntoIterator<Item = Published>, objects_dir: PathBuf) -> Self {
        let objects: IdMap<Packed> = objects
            .into_iter()
            .map(|p| (p.id, Packed::of(&p)))
            .collect();
        Self::of_map(objects, objects_dir)
    }

    /// A catalog over a built map.
    pub(crate) fn of_map(objects: IdMap<Packed>, objects_dir: PathBuf) -> Self {
        let total_size = objects.iter().map(|(_, p)| p.size).sum();
        Self {
            objects,
            objects_dir: objects_dir.into(),
            total_size,
            version: 0,
        }
    }

    /// Adds (or replaces) an object.
    pub fn insert(&mut self, object: Published) {
        self.total_size += object.size;
        if let Some(old) = self.objects.insert(object.id, Packed::of(&object)) {
            self.total_size -= old.size;
        }
        self.version += 1;
    }

    /// Removes an object, returning what it was.
    pub fn remove(&mut self, id: DataObjectId) -> Option<Published> {
        let old = self.objects.remove(id)?;
        self.total_size -= old.size;
        self.version += 1;
        Some(old.unpack(id))
    }

    /// Whether the object is published.
    pub fn contains(&self, id: DataObjectId) -> bool {
        self.objects.contains(id)
    }

    /// Changes counted since the catalog was built; equal versions of one store hold the same
    /// objects (caches of derived answers key on it).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The object, if it is published.
    pub fn get(&self, id: DataObjectId) -> Option<Published> {
        self.objects.get(id).map(|p| p.unpack(id))
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
    pub fn ids(&self) -> impl Iterator<Item = DataObjectId> + '_ {
        self.objects.ids()
    }

    /// Every published object, in ascending id order.
    pub fn iter(&self) -> impl Iterator<Item = Published> + '_ {
        self.objects.iter().map(|(id, p)| p.unpack(id))
    }

    /// The published objects from id `from` on, in ascending id order.
    pub fn iter_from(&self, from: DataObjectId) -> impl Iterator<Item = Published> + '_ {
        self.objects.iter_from(from).map(|(id, p)| p.unpack(id))
    }

    /// The object's file.
    pub fn path_of(&self, id: DataObjectId) -> PathBuf {
        object_path(&self.objects_dir, id)
    }

    /// The directory the objects' files are in.
    pub fn objects_dir(&self) -> &Path {
        &self.objects_dir
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
