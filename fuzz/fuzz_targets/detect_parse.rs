//! Detection's parsers on arbitrary text: numbers in every rendering, dates, folding,
//! words, fingerprints, the instruction-like text check, Excel number formats, and a full
//! `Detector::check` of the text written as a text box and as a table against a small
//! fixed index.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracker::detect::parse;

fuzz_target!(|data: &[u8]| {
    // Number formats: the first 8 bytes are the value, the rest the format code.
    if let Some((value, code)) = data.split_first_chunk::<8>() {
        if let Ok(code) = std::str::from_utf8(code) {
            let _ = tracker::files::format_number(f64::from_le_bytes(*value), code);
            let _ = parse::is_date_format(code);
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(n) = parse::parse_number(text) {
        for r in &n.readings {
            assert!(!(r.lo > r.hi), "{text:?}: reading {r:?} is upside down");
        }
    }
    // Numbers in words from each of the first words (as the tokeniser calls it).
    let tokens: Vec<&str> = text.split_whitespace().take(200).collect();
    for start in 0..tokens.len() {
        let rest = tokens.get(start..).unwrap_or(&[]);
        if let Some((n, took)) = parse::parse_words(rest) {
            assert!((1..=rest.len()).contains(&took), "{text:?}: took {took}");
            for r in &n.readings {
                assert!(!(r.lo > r.hi), "{text:?}: reading {r:?} is upside down");
            }
        }
    }
    let _ = parse::parse_date(text);
    let folded = parse::fold(text);
    let _ = parse::string_evidence(&folded);
    let _ = parse::words(text);
    let _ = parse::fingerprints(text);
    let injection = office_bridge_fuzz::injection_check();
    let _ = injection.looks_like_instructions(text);
    // What a read result shows of flagged text: an excerpt cut on character boundaries.
    let _ = injection.scan([("Notes!A1".to_string(), text)], 5);
    let _ = office_bridge_fuzz::check_write(text);
});
