//! The local socket's frames (length, crc32, JSON) and the messages in them, both directions:
//! what a data plane reads from a control plane and the other way round.

#![no_main]

use hecaton_dataplane::shared::socket::{FrameDecoder, FromDataPlane, ToDataPlane};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut to = FrameDecoder::new();
    let mut from = FrameDecoder::new();
    for piece in data.chunks(13) {
        to.extend(piece);
        from.extend(piece);
        while let Ok(Some(_)) = to.decode::<ToDataPlane>() {}
        while let Ok(Some(_)) = from.decode::<FromDataPlane>() {}
    }
    let _ = serde_json::from_slice::<ToDataPlane>(data);
    let _ = serde_json::from_slice::<FromDataPlane>(data);
});
