//! A peer's response head as the fetch client reads it (replication, fills, the proxy): the
//! status, lengths and ranges that decide what is kept.

#![no_main]

use hecaton_dataplane::fetch::client::parse_head;
use hecaton_dataplane::store::media_type::safe_media_type;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((head, len))) = parse_head(data) {
        assert!(len <= data.len());
        if let Some((first, last, complete)) = head.content_range {
            assert!(first <= last && last < complete);
        }
        let _ = safe_media_type(head.content_type.as_deref());
    }
});
