//! `hecaton-bench scale`: what a store of N objects costs the data plane, measured with its own
//! code on a synthesized store (empty files, an index of `Put` records, bags of `--per-bag`
//! objects):
//! - recovery: `Store::open_deferred` (index replay and the catalog: what serving waits for),
//!   then the check of `objects/` against the index that goes on in the background (its
//!   listing started with the replay), wall time of each and resident memory left;
//! - placement: a snapshot of every object sent over a Unix socket by a thread that encodes
//!   it as the control plane does (frames of `SnapshotBags` parts), received, decoded and
//!   applied as the data plane does, both at once; wall time, bytes on the socket, resident
//!   memory;
//! - `/state/data-objects`: the body's size and the time to count and produce it, a piece at a
//!   time as the server writes it.
//!
//! Memory is resident set growth (`VmRSS`) of this process over each phase, after the phase's
//! temporaries are dropped; the peak of each phase is `VmHWM` growth (reset first).
//!
//!   hecaton-bench scale --objects 10000000 --dir /var/tmp/scale

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{ensure, Context};
use hecaton_dataplane::placement::Placement;
use hecaton_dataplane::serve::data_objects;
use hecaton_dataplane::shared::socket::{
    encode, BagPlacement, FrameDecoder, Globals, ObjectPlacement, ToDataPlane,
};
use hecaton_dataplane::shared::{BagId, ContentId, DataObjectId, DynamicBagId, StorageBucketId};
use hecaton_dataplane::store::media_type::MediaType;
use hecaton_dataplane::store::{chunk_count, ObjectMeta, Record, Store, INDEX_MAGIC};

/// Arguments of `hecaton-bench scale`.
#[derive(clap::Args, Debug)]
pub struct ScaleArgs {
    /// Objects in the synthesized store.
    #[arg(long, default_value_t = 1_000_000)]
    objects: u64,
    /// Objects per bag.
    #[arg(long, default_value_t = 50)]
    per_bag: u64,
    /// Declared size of each object in bytes (the files stay empty; recovery does not read
    /// them).
    #[arg(long, default_value_t = 1 << 20)]
    object_size: u64,
    /// Where the store is synthesized; kept and reused by a later run with the same shape.
    #[arg(long)]
    dir: PathBuf,
    /// Objects per snapshot part (the control plane's `OBJECTS_PER_PART`).
    #[arg(long, default_value_t = 20_000)]
    per_part: usize,
}

/// Runs the measurement and prints one JSON line.
pub fn run(args: ScaleArgs) -> anyhow::Result<()> {
    ensure!(args.per_bag > 0, "--per-bag must be positive");
    let started = Instant::now();
    let made = synthesize(&args)?;
    if made {
        eprintln!(
            "synthesized {} objects in {:.1} s",
            args.objects,
            started.elapsed().as_secs_f64()
        );
    }
    let dir = args.dir.clone();
    let n = args.objects;
    let per_bag = args.per_bag;
    let size = args.object_size;
    let per_part = args.per_part;
    let out = glommio::LocalExecutorBuilder::default()
        .spawn(move || async move { measure(&dir, n, per_bag, size, per_part).await })
        .map_err(|e| anyhow::anyhow!("executor: {e}"))?
        .join()
        .map_err(|e| anyhow::anyhow!("executor: {e:?}"))??;
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}

async fn measure(
    dir: &Path,
    n: u64,
    per_bag: u64,
    size: u64,
    per_part: usize,
) -> anyhow::Result<serde_json::Value> {
    let base = Memory::now();

    // Recovery.
    Memory::reset_peak();
    let t = Instant::now();
    let (mut store, recovery) = Store::open_deferred(dir).await.context("open store")?;
    let recovery_s = t.elapsed().as_secs_f64();
    let check = store.finish_file_check().await?.unwrap_or_default();
    let file_check_s = t.elapsed().as_secs_f64();
    ensure!(
        recovery.objects as u64 == n && check.missing_files.is_empty(),
        "recovered {} objects ({} files missing), synthesized {n}",
        recovery.objects,
        check.missing_files.len()
    );
    let (catalog, _lock) = store.into_catalog().await?;
    let after_store = Memory::now();

    // Placement: the snapshot sent over a Unix socket by a thread that encodes its parts as
    // the control plane does (its values cloned from what it holds), received, decoded and
    // applied here as the data plane's session does. The two sides run at once, as the two
    // processes do.
    Memory::reset_peak();
    let before_placement = Memory::now();
    let t = Instant::now();
    let (mut receiving, sending) = std::os::unix::net::UnixStream::pair()?;
    let sender = std::thread::spawn(move || -> anyhow::Result<(u64, f64)> {
        let mut sending = sending;
        let pool: Vec<String> = (0..CONTENT_IDS)
            .map(|i| content_id(i).to_string())
            .collect();
        let mut wire = Vec::new();
        let mut bytes = 0u64;
        let started = Instant::now();
        for part in parts(n, per_bag, size, per_part, &pool) {
            wire.clear();
            encode(
                &ToDataPlane::SnapshotBags {
                    block: 1,
                    bags: part,
                },
                &mut wire,
            );
            bytes += wire.len() as u64;
            sending.write_all(&wire)?;
        }
        Ok((bytes, started.elapsed().as_secs_f64()))
    });
    // As the session does: the catalog of the moment is the base placement reads held
    // objects' sizes and content ids from.
    let mut builder = Placement::builder(1, Globals::default(), None, Some(catalog.clone()));
    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut applying = std::time::Duration::ZERO;
    loop {
        let got = receiving.read(&mut buf)?;
        if got == 0 {
            break;
        }
        decoder.extend(&buf[..got]);
        let a = Instant::now();
        while let Some(ToDataPlane::SnapshotBags { bags, .. }) = decoder.decode()? {
            builder.add(bags);
        }
        applying += a.elapsed();
    }
    let a = Instant::now();
    let placement = builder.finish();
    applying += a.elapsed();
    let snapshot_s = t.elapsed().as_secs_f64();
    let (socket_bytes, sending_s) = sender
        .join()
        .map_err(|_| anyhow::anyhow!("the sender panicked"))??;
    drop((buf, decoder, receiving));
    ensure!(placement.counts().1 as u64 == n, "placement lost objects");
    let after_placement = Memory::now();

    // A rebase: the pass a delta makes when the catalog has moved far from placement's base.
    let mut rebased = placement.clone();
    let t = Instant::now();
    rebased.rebase(&catalog);
    let rebase_s = t.elapsed().as_secs_f64();
    drop(rebased);

    // `/state/data-objects`.
    let t = Instant::now();
    let announced = data_objects::body_len(&catalog);
    let mut body = data_objects::Body::new(&catalog);
    let mut piece = Vec::new();
    let mut data_objects_bytes = 0;
    loop {
        piece.clear();
        let more = body.piece(&mut piece);
        data_objects_bytes += piece.len() as u64;
        if !more {
            break;
        }
    }
    let data_objects_s = t.elapsed().as_secs_f64();
    ensure!(announced == data_objects_bytes, "body length miscounted");

    let mib = |b: i64| b as f64 / (1 << 20) as f64;
    Ok(serde_json::json!({
        "objects": n,
        "recovery_s": recovery_s,
        "file_check_done_s": file_check_s,
        "recovery_records": recovery.records,
        "catalog_rss_mib": mib(after_store.rss - base.rss),
        "recovery_peak_mib": mib(after_store.hwm - base.rss),
        "snapshot_s": snapshot_s,
        "snapshot_send_s": sending_s,
        "snapshot_decode_apply_s": applying.as_secs_f64(),
        "snapshot_socket_mib": mib(socket_bytes as i64),
        "placement_rss_mib": mib(after_placement.rss - before_placement.rss),
        "placement_heap_mib": mib(after_placement.heap - before_placement.heap),
        "catalog_heap_mib": mib(after_store.heap - base.heap),
        "snapshot_peak_mib": mib(after_placement.hwm - before_placement.rss),
        "catalog_and_placement_rss_mib": mib(after_placement.rss - base.rss),
        "rebase_s": rebase_s,
        "data_objects_s": data_objects_s,
        "data_objects_mib": mib(data_objects_bytes as i64),
        "data_objects_piece_bytes": piece.capacity(),
        "bytes_per_object": (after_placement.rss - base.rss) as f64 / n.max(1) as f64,
    }))
}

/// The snapshot's bags, `dynamic:channel:<k>` of `per_bag` consecutive ids each, in parts of
/// about `per_part` objects made as they are asked for (as the control plane clones them).
fn parts(
    n: u64,
    per_bag: u64,
    size: u64,
    per_part: usize,
    pool: &[String],
) -> impl Iterator<Item = Vec<BagPlacement>> + '_ {
    let bags_per_part = (per_part as u64 / per_bag).max(1);
    let bag_count = n.div_ceil(per_bag);
    (0..bag_count)
        .step_by(bags_per_part as usize)
        .map(move |first| {
            (first..(first + bags_per_part).min(bag_count))
                .map(|k| bag(k, n, per_bag, size, pool))
                .collect()
        })
}

/// Bag `k`; its objects' content ids are cloned from `pool` (texts the control plane holds).
fn bag(k: u64, n: u64, per_bag: u64, size: u64, pool: &[String]) -> BagPlacement {
    BagPlacement {
        bag: BagId::Dynamic(DynamicBagId::Channel(k)),
        buckets: vec![StorageBucketId(0)],
        peers: vec!["https://peer.example:3333/".into()],
        objects: (k * per_bag..((k + 1) * per_bag).min(n))
            .map(|id| ObjectPlacement {
                id: DataObjectId(id),
                size,
                content_id: pool[(id % CONTENT_IDS) as usize].clone(),
                accepted: true,
            })
            .collect(),
    }
}

/// Distinct content ids in a synthesized store: object `id` holds and is declared with
/// `content_id(id % CONTENT_IDS)`, so the snapshot's sender clones texts from a small pool.
const CONTENT_IDS: u64 = 1024;

fn content_id(id: u64) -> ContentId {
    ContentId::of(&id.to_le_bytes())
}

/// Writes the store unless `dir` already holds one of this shape. Returns whether it wrote.
fn synthesize(args: &ScaleArgs) -> anyhow::Result<bool> {
    // The second shape: objects hold the content ids placement declares for them (the first
    // held a content id of their own, so that placement described none of what was held).
    let shape = format!("2 {} {} {}\n", args.objects, args.per_bag, args.object_size);
    let marker = args.dir.join("SYNTHESIZED");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(&shape) {
        return Ok(false);
    }
    if args.dir.exists() {
        std::fs::remove_dir_all(&args.dir).context("remove the old synthesized store")?;
    }
    let objects = args.dir.join("objects");
    std::fs::create_dir_all(&objects)?;
    let n = args.objects;
    let threads = std::thread::available_parallelism().map_or(2, |p| p.get()) as u64;
    std::thread::scope(|s| -> anyhow::Result<()> {
        let mut handles = Vec::new();
        for t in 0..threads {
            let objects = &objects;
            handles.push(s.spawn(move || -> anyhow::Result<()> {
                let mut id = t;
                while id < n {
                    std::fs::File::create(objects.join(id.to_string()))?;
                    id += threads;
                }
                Ok(())
            }));
        }
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a file writer panicked"))??;
        }
        Ok(())
    })?;
    let mut index = std::io::BufWriter::new(std::fs::File::create(args.dir.join("index.log"))?);
    index.write_all(INDEX_MAGIC)?;
    let mut buf = Vec::new();
    for id in 0..n {
        buf.clear();
        Record::Put(ObjectMeta {
            id: DataObjectId(id),
            size: args.object_size,
            content_id: content_id(id % CONTENT_IDS),
            media_type: MediaType::from_code(0),
            chunk_crcs: vec![0; chunk_count(args.object_size)].into(),
            bag: Some(BagId::Dynamic(DynamicBagId::Channel(id / args.per_bag))),
        })
        .encode(&mut buf);
        index.write_all(&buf)?;
    }
    index.into_inner()?.sync_all()?;
    std::fs::write(&marker, shape)?;
    Ok(true)
}

/// This process's resident set and its peak, and the heap's bytes in use, in bytes.
#[derive(Debug, Clone, Copy)]
struct Memory {
    rss: i64,
    hwm: i64,
    /// Allocated and not freed (glibc's `mallinfo2().uordblks`): resident growth beyond
    /// it is the allocator's, pages that freed temporaries left part-used.
    heap: i64,
}

impl Memory {
    /// After giving freed heap memory back to the system (`malloc_trim`), so what remains
    /// is what is held, not what the allocator kept after temporaries were freed.
    fn now() -> Self {
        // SAFETY: malloc_trim only releases free memory of glibc's heap.
        unsafe {
            libc::malloc_trim(0);
        }
        let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
                .unwrap_or(0)
                * 1024
        };
        // SAFETY: mallinfo2 only reads glibc's heap statistics.
        let heap = unsafe { libc::mallinfo2() }.uordblks as i64;
        Memory {
            rss: field("VmRSS:"),
            hwm: field("VmHWM:"),
            heap,
        }
    }

    /// Starts a new peak (`VmHWM` is reset to the current resident set).
    fn reset_peak() {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
    }
}
