//! A multipart upload body through multer as the upload route drives it: the boundary taken
//! from a Content-Type, the body in pieces, fields read chunk by chunk.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|b| *b == b'\n') else {
        return;
    };
    let (ct, body) = (&data[..split], &data[split + 1..]);
    let Ok(ct) = std::str::from_utf8(ct) else {
        return;
    };
    let Ok(boundary) = multer::parse_boundary(ct) else {
        return;
    };
    let pieces: Vec<Result<Bytes, std::io::Error>> = body
        .chunks(7)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let stream = futures_lite::stream::iter(pieces);
    let mut multipart = multer::Multipart::new(stream, boundary);
    futures_lite::future::block_on(async {
        while let Ok(Some(mut field)) = multipart.next_field().await {
            let _ = field.file_name();
            while let Ok(Some(_chunk)) = field.chunk().await {}
        }
    });
});
