//! `hecaton util`: helpers that need no chain (Colossus's `util:multihash` and
//! `util:verify-bag-id`).

use std::io::Read;
use std::path::PathBuf;

use clap::Subcommand;
use hecaton_shared::BagId;
use hecaton_shared::ContentHasher;

/// Bytes read from the file at a time.
const READ: usize = 1 << 20;

/// Offline helpers.
#[derive(Subcommand, Debug)]
pub enum Util {
    /// The content id of a file: the base58 BLAKE3 multihash the chain keeps as the object's
    /// `ipfs_content_id` (what `hecaton member upload` registers and nodes verify).
    Multihash {
        /// The file.
        file: PathBuf,
    },
    /// Checks a bag id (`static:council`, `static:wg:storage`, `dynamic:member:4`,
    /// `dynamic:channel:7`) and prints it in its canonical form; exit code 2 if it is not one.
    VerifyBagId {
        /// The bag id.
        bag: String,
    },
}

impl Util {
    /// Runs the command.
    pub fn run(self, json: bool) -> anyhow::Result<()> {
        match self {
            Util::Multihash { file } => {
                let mut f = std::fs::File::open(&file)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                let mut hasher = ContentHasher::new();
                let mut buf = vec![0u8; READ];
                loop {
                    let n = f
                        .read(&mut buf)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                }
                let id = hasher.finish();
                if json {
                    println!(
                        "{}",
                        serde_json::json!({ "multihash": id.to_string(), "size": hasher.len() })
                    );
                } else {
                    println!("{id}");
                }
                Ok(())
            }
            Util::VerifyBagId { bag } => match bag.parse::<BagId>() {
                Ok(id) => {
                    println!("{id}");
                    Ok(())
                }
                Err(e) => Err(InvalidBagId(format!("{bag:?}: {e}")).into()),
            },
        }
    }
}

/// A bag id that does not parse (exit code 2, a usage error).
#[derive(Debug, thiserror::Error)]
#[error("not a bag id: {0}")]
pub struct InvalidBagId(pub String);
