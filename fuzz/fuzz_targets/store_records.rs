//! What the store reads back from its disk: index records (a torn or damaged log must be
//! refused, never trusted), and the embedded chain's block log frames.

#![no_main]

use hecaton_dataplane::store::Record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut at = 0;
    while at < data.len() {
        match Record::decode(&data[at..]) {
            Ok((_, n)) => {
                assert!(n > 0 && n <= data.len() - at);
                at += n;
            }
            Err(_) => break,
        }
    }
    let (_, end) = hecaton_emulator::embedded::ledger::read_frames(data);
    assert!(end <= data.len().max(8));
});
