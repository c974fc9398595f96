//! The listing of `objects/` at start-up, which tells recovery which indexed objects have
//! their file, which files are leftovers of interrupted removals and which are unknown.
//!
//! At ten million objects the listing is the longest part of recovery, so it runs on a thread
//! of its own while the executor replays the index, and it keeps names only as ids (8 bytes
//! each; the few other names as text). It is the one walk of a directory the data plane does
//! off its executors; it blocks only that thread, and only before serving starts (glommio's
//! own listing, `sync_read_dir`, is the same blocking `std::fs::read_dir` on the executor).

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::thread::JoinHandle;

use crate::store::catalog::id_of_file_name;

/// What `objects/` holds.
#[derive(Debug, Default)]
pub struct ObjectFiles {
    /// Ids of the files named as objects, sorted.
    pub ids: Vec<u64>,
    /// Every other name.
    pub others: Vec<String>,
}

/// Starts listing `dir` on its own thread; join the handle for the result.
pub fn spawn(dir: PathBuf) -> std::io::Result<JoinHandle<std::io::Result<ObjectFiles>>> {
    std::thread::Builder::new()
        .name("hecaton-listing".into())
        .spawn(move || list(&dir))
}

fn list(dir: &std::path::Path) -> std::io::Result<ObjectFiles> {
    let mut out = ObjectFiles::default();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        match std::str::from_utf8(name.as_bytes())
            .ok()
            .and_then(id_of_file_name)
        {
            Some(id) => out.ids.push(id.0),
            None => out.others.push(name.to_string_lossy().into_owned()),
        }
    }
    out.ids.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sorted_and_other_names_kept() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["10", "2", "007", "x.tmp", "3"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let files = spawn(dir.path().to_owned())
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
        assert_eq!(files.ids, [2, 3, 10]);
        let mut others = files.others;
        others.sort();
        assert_eq!(others, ["007", "x.tmp"]);
    }
}
