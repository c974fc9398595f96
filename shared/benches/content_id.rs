//! Content id over 1 MiB: the per-object hashing cost of ingestion and import, alone and with
//! the outboard (BLAKE3's tree above 16 KiB groups) built in the same pass.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hecaton_shared::bao::Outboarder;
use hecaton_shared::{ContentHasher, ContentId};

fn content_id(c: &mut Criterion) {
    let data: Vec<u8> = (0..1usize << 20).map(|i| (i % 251) as u8).collect();
    let mut group = c.benchmark_group("content_id");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function("one_shot_1MiB", |b| b.iter(|| ContentId::of(&data)));
    group.bench_function("streamed_64KiB_chunks_1MiB", |b| {
        b.iter(|| {
            let mut h = ContentHasher::new();
            for piece in data.chunks(64 * 1024) {
                h.update(piece);
            }
            h.finish()
        })
    });
    group.bench_function("outboard_64KiB_chunks_1MiB", |b| {
        b.iter(|| {
            let mut o = Outboarder::new();
            for piece in data.chunks(64 * 1024) {
                o.update(piece);
            }
            o.finish()
        })
    });
    group.finish();
    let id = ContentId::of(&data);
    c.bench_function("content_id_to_text", |b| b.iter(|| id.to_string()));
}

criterion_group!(benches, content_id);
criterion_main!(benches);
