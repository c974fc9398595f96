//! `hecaton-bench expectations DIR`: prints `<id> <size> <content id>` for every file of `DIR`
//! named by a decimal id, the expectations file `hecaton dataplane import --expect` reads, for
//! benchmarks that have no chain to ask (`bench/compare-import`).

use std::io::{Read, Write};
use std::path::PathBuf;

use hecaton_dataplane::shared::ContentHasher;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct ExpectationsArgs {
    /// The directory.
    dir: PathBuf,
}

/// Runs the command.
pub fn run(args: ExpectationsArgs) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut buf = vec![0u8; 1 << 20];
    for entry in std::fs::read_dir(&args.dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.parse::<u64>().is_err() || !entry.file_type()?.is_file() {
            continue;
        }
        let mut file = std::fs::File::open(entry.path())?;
        let mut hasher = ContentHasher::new();
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        writeln!(out, "{name} {size} {}", hasher.finish())?;
    }
    out.flush()?;
    Ok(())
}
