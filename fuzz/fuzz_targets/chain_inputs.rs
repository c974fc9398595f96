//! What reaches the control plane from outside: the embedded chain API's JSON call bodies,
//! operator and family metadata protobufs (anyone with a bucket writes them on chain), and an
//! operator API's JWT.

#![no_main]

use hecaton_controlplane::distributor::jwt;
use hecaton_emulator::runtime::metadata::MetadataIndex;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hecaton_emulator::embedded::api::parse_extrinsic(data);
    let mut index = MetadataIndex::default();
    index.apply_storage_operator(1, data);
    index.apply_family(1, data);
    if let Ok(text) = std::str::from_utf8(data) {
        let seen = jwt::Seen::default();
        let _ = jwt::verify(
            Some(&format!("Bearer {text}")),
            "a-secret-of-at-least-thirty-two-bytes",
            "/api/v1/shutdown",
            &serde_json::json!({}),
            &seen,
        );
    }
});
