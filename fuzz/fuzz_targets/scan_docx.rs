//! The docx reader on arbitrary bytes, every way the bridge and `office-bridge scan` read
//! a .docx file (see `office_bridge_fuzz::read_every_way`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    office_bridge_fuzz::read_every_way(data, "docx");
});
