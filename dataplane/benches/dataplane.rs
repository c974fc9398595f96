//! Micro-benchmarks of the per-request work that is not I/O: range parsing, request head
//! parsing, and the catalog lookup every object request does.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use hecaton_dataplane::http::{range, request};
use hecaton_dataplane::store::media_type::MediaType;
use hecaton_dataplane::store::{Catalog, Published};
use hecaton_shared::{ContentId, DataObjectId};

fn ranges(c: &mut Criterion) {
    let mut g = c.benchmark_group("range");
    for (name, value) in [
        ("bounded", &b"bytes=1000-263143"[..]),
        ("suffix", b"bytes=-500"),
        ("open", b"bytes=1048000-"),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| range::resolve(range::parse(black_box(value)), 1 << 20))
        });
    }
    g.finish();
}

fn heads(c: &mut Criterion) {
    let head = b"GET /api/v1/files/123456 HTTP/1.1\r\nHost: storage.example:3333\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\nRange: bytes=0-1048575\r\nConnection: keep-alive\r\n\r\n";
    let limits = request::HeadLimits::default();
    c.bench_function("request_head", |b| {
        b.iter(|| request::parse(black_box(head), &limits))
    });
}

fn lookup(c: &mut Criterion) {
    let n = 1_000_000u64;
    let objects = (0..n).map(|i| Published {
        id: DataObjectId(i * 7),
        size: 1 << 20,
        content_id: ContentId::from_digest([i as u8; 32]),
        media_type: MediaType::Mp4,
        bag: None,
    });
    let catalog = Catalog::new(objects, PathBuf::from("/x"));
    let mut i = 0u64;
    c.bench_function("catalog_lookup_1M", |b| {
        b.iter(|| {
            i = (i + 7919) % n;
            black_box(catalog.get(DataObjectId(i * 7)).map(|m| m.size))
        })
    });
}

criterion_group!(benches, ranges, heads, lookup);
criterion_main!(benches);
