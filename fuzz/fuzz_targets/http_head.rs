//! A request head as a client sends it, then everything the routes derive from it: the Range
//! header against an object size, conditionals against an ETag, the percent-decoded path.

#![no_main]

use hecaton_dataplane::http::request::{parse, HeadLimits};
use hecaton_dataplane::http::{conditional, percent_decode, range};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(Some(req)) = parse(data, &HeadLimits::default()) else {
        return;
    };
    assert!(req.head_len <= data.len());
    let _ = percent_decode(&req.path);
    if let Some(r) = &req.range {
        let spec = range::parse(r);
        for size in [0, 1, 1 << 20, u64::MAX] {
            match range::resolve(spec, size) {
                range::Resolved::Partial { start, end } => assert!(start <= end && end < size),
                range::Resolved::Full | range::Resolved::Unsatisfiable => {}
            }
        }
    }
    let etag = b"\"zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA\"";
    if let Some(v) = &req.if_none_match {
        let _ = conditional::none_match(v, etag);
    }
    if let Some(v) = &req.if_range {
        let _ = conditional::range_applies(v, etag);
    }
});
