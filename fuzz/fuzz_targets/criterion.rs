//! The criterion expression parser (`check = "METRIC OP VALUE"`): any text is a check or an
//! error with its column, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gauntlet::scenario::check::parse(text);
        let _ = gauntlet::compare::parse_limits(text);
    }
});
