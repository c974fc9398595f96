//! The identifiers a URL or the chain hands us: data object ids, bag ids, content ids, and the
//! names of resumable uploads (`<id>.<created>.<token>`). Whatever parses must print back the
//! same (the text form is the contract).

#![no_main]

use hecaton_dataplane::store::UploadName;
use hecaton_dataplane::shared::{BagId, ContentId, DataObjectId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = text.parse::<DataObjectId>() {
        assert_eq!(id.to_string().parse::<DataObjectId>().ok(), Some(id));
    }
    if let Ok(bag) = text.parse::<BagId>() {
        assert_eq!(bag.to_string().parse::<BagId>().ok(), Some(bag));
    }
    if let Ok(cid) = text.parse::<ContentId>() {
        assert_eq!(cid.to_string().parse::<ContentId>().ok(), Some(cid));
    }
    if let Some(name) = UploadName::parse(text) {
        assert_eq!(name.to_string(), text);
    }
    let _ = hecaton_dataplane::http::percent_decode(text);
});
