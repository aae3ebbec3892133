//! Durations as people write them ("250ms", "1m30s") and numbers as people read them
//! ("18,000,000"). Durations are whole nanoseconds so that arithmetic on the plan's timeline is
//! exact; parsing never panics and rejects anything it cannot represent.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The regular expression a duration string must match (also used by the JSON Schema).
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(h|ms|m|s|us))+$";

const NS_PER_US: u64 = 1_000;
const NS_PER_MS: u64 = 1_000_000;
const NS_PER_S: u64 = 1_000_000_000;
const NS_PER_M: u64 = 60 * NS_PER_S;
const NS_PER_H: u64 = 60 * NS_PER_M;

/// The longest duration anything in a scenario may have: one year. Longer values are almost
/// certainly typos, and keeping them bounded keeps all timeline arithmetic far from overflow.
pub const MAX_DURATION_NS: u64 = 366 * 24 * NS_PER_H;

/// A span of time with nanosecond resolution, written as `"30s"`, `"250ms"`, `"1m30s"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(u64);

impl Duration {
    pub const ZERO: Duration = Duration(0);

    pub const fn from_nanos(ns: u64) -> Self {
        Duration(ns)
    }
    pub const fn from_millis(ms: u64) -> Self {
        Duration(ms * NS_PER_MS)
    }
    pub const fn from_secs(s: u64) -> Self {
        Duration(s * NS_PER_S)
    }
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NS_PER_S as f64
    }
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / NS_PER_MS as f64
    }
    pub const fn as_millis(self) -> u64 {
        self.0 / NS_PER_MS
    }
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error(
        "invalid duration \"{0}\"; write a number and a unit (h, m, s, ms, us), e.g. \"250ms\", \"30s\", \"5m\", \"1m30s\""
    )]
    Syntax(String),
    #[error("duration \"{0}\" is too long; at most 366 days")]
    TooLong(String),
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || DurationError::Syntax(text.to_string());
        let too_long = || DurationError::TooLong(text.to_string());
        let bytes = text.as_bytes();
        if bytes.is_empty() {
            return Err(syntax());
        }
        let mut total: u128 = 0;
        let mut i = 0;
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let whole = &text[start..i];
            let mut fraction = "";
            if i < bytes.len() && bytes[i] == b'.' {
                i += 1;
                let fstart = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                fraction = &text[fstart..i];
                if fraction.is_empty() {
                    return Err(syntax());
                }
            }
            if whole.is_empty() {
                return Err(syntax());
            }
            let rest = &text[i..];
            let (unit, len) = if rest.starts_with("ms") {
                (NS_PER_MS, 2)
            } else if rest.starts_with("us") {
                (NS_PER_US, 2)
            } else if rest.starts_with('h') {
                (NS_PER_H, 1)
            } else if rest.starts_with('m') {
                (NS_PER_M, 1)
            } else if rest.starts_with('s') {
                (NS_PER_S, 1)
            } else {
                return Err(syntax());
            };
            i += len;
            // Digits beyond 30 cannot matter for a value bounded by a year; cap to stay in u128.
            if whole.len() > 30 {
                return Err(too_long());
            }
            let whole: u128 = whole.parse().map_err(|_| syntax())?;
            let mut part = whole * unit as u128;
            if !fraction.is_empty() {
                let digits = &fraction[..fraction.len().min(18)];
                let num: u128 = digits.parse().map_err(|_| syntax())?;
                part += num * unit as u128 / 10u128.pow(digits.len() as u32);
            }
            total += part;
            if total > MAX_DURATION_NS as u128 {
                return Err(too_long());
            }
        }
        Ok(Duration(total as u64))
    }
}

impl fmt::Display for Duration {
    /// The canonical form: the largest units first, no zero parts, `0s` for nothing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ns = self.0;
        if ns == 0 {
            return f.write_str("0s");
        }
        let mut out = String::new();
        for (unit, name) in [
            (NS_PER_H, "h"),
            (NS_PER_M, "m"),
            (NS_PER_S, "s"),
            (NS_PER_MS, "ms"),
            (NS_PER_US, "us"),
        ] {
            let n = ns / unit;
            if n > 0 {
                out.push_str(&format!("{n}{name}"));
                ns %= unit;
            }
        }
        if ns > 0 {
            // Below a microsecond: keep it exact as a fraction of a microsecond.
            out.push_str(&format!("0.{ns:03}us"));
        }
        f.write_str(&out)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration: a number and a unit (h, m, s, ms, us), parts may be combined: \"250ms\", \"30s\", \"5m\", \"1h\", \"1m30s\".",
            "examples": ["30s", "1m30s", "250ms"]
        })
    }
}

/// The regular expression a size string must match (also used by the JSON Schema).
pub const BYTES_PATTERN: &str = r"^[0-9]+(\.[0-9]+)? ?(B|kB|KB|KiB|MB|MiB|GB|GiB)?$";

/// A number of bytes, written `"1MiB"`, `"512KiB"`, `"100kB"`, `"2048"` (bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

/// The largest size anything in a scenario may have: 1 GiB.
pub const MAX_BYTES: u64 = 1 << 30;

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "invalid size \"{text}\"; write a number and a unit (B, kB, KiB, MB, MiB, GB, GiB), e.g. \"1MiB\""
            )
        };
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let unit: u64 = match unit.trim() {
            "" | "B" => 1,
            "kB" | "KB" => 1_000,
            "KiB" => 1 << 10,
            "MB" => 1_000_000,
            "MiB" => 1 << 20,
            "GB" => 1_000_000_000,
            "GiB" => 1 << 30,
            _ => return Err(bad()),
        };
        let n: f64 = number.parse().map_err(|_| bad())?;
        let bytes = n * unit as f64;
        if !bytes.is_finite() || bytes > MAX_BYTES as f64 {
            return Err(format!("size \"{text}\" is too large; at most 1GiB"));
        }
        Ok(ByteSize(bytes.round() as u64))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (unit, name) in [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
            if n >= unit && n.is_multiple_of(unit) {
                return write!(f, "{}{name}", n / unit);
            }
        }
        write!(f, "{n}B")
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A size as written: a string with a unit, or a whole number of bytes.
#[derive(Deserialize)]
#[serde(untagged)]
enum SizeText {
    Text(String),
    Bytes(u64),
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match SizeText::deserialize(d)? {
            SizeText::Text(text) => text.parse().map_err(serde::de::Error::custom),
            SizeText::Bytes(n) if n <= MAX_BYTES => Ok(ByteSize(n)),
            SizeText::Bytes(n) => Err(serde::de::Error::custom(format!(
                "size {n} is too large; at most 1GiB"
            ))),
        }
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ByteSize".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // The pattern applies to strings, the bounds to numbers of bytes.
        schemars::json_schema!({
            "type": ["string", "integer"],
            "pattern": BYTES_PATTERN,
            "minimum": 0,
            "maximum": MAX_BYTES,
            "description": "A size: a number and a unit (B, kB, KiB, MB, MiB, GB, GiB), e.g. \"1MiB\", \"512KiB\", or a whole number of bytes.",
            "examples": ["1MiB", "64KiB", 4096]
        })
    }
}

/// `18000000` as `18,000,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate or other figure without needless decimals: `8000`, `12.5`.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Nanoseconds on the timeline as a duration string for people (`1m30s`, `6s667ms`): exact
/// below a millisecond, to the microsecond below a second, to the millisecond from a second
/// on, so a third of 20s reads `6s667ms`, not `6s666ms666us0.666us`. Where the exact value
/// matters (an error about where a failure ends), use `ns_exact`.
pub fn ns(ns: u64) -> String {
    let step = match ns {
        n if n >= NS_PER_S => NS_PER_MS,
        n if n >= NS_PER_MS => NS_PER_US,
        _ => 1,
    };
    let up = if ns % step * 2 >= step { step } else { 0 };
    let rounded = (ns / step * step).saturating_add(up);
    Duration::from_nanos(rounded).to_string()
}

/// Nanoseconds as the exact duration string, every part kept (`6s666ms666us0.666us`).
pub fn ns_exact(ns: u64) -> String {
    Duration::from_nanos(ns).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_for_people_round_to_three_places_of_their_unit() {
        let third_of_20s = 20 * NS_PER_S / 3;
        assert_eq!(ns_exact(third_of_20s), "6s666ms666us0.666us");
        assert_eq!(ns(third_of_20s), "6s667ms");
        assert_eq!(ns(2 * third_of_20s), "13s333ms");
        assert_eq!(ns(90 * NS_PER_S), "1m30s");
        assert_eq!(ns(NS_PER_S - 1), "1s");
        assert_eq!(ns(1_234_567), "1ms235us");
        assert_eq!(ns(999), "0.999us");
        assert_eq!(ns(0), "0s");
        assert!(ns(u64::MAX).ends_with("us"), "no overflow at the top");
    }

    #[test]
    fn sizes_parse_in_binary_and_decimal_units() {
        for (text, bytes) in [
            ("1MiB", 1 << 20),
            ("512KiB", 512 << 10),
            ("100kB", 100_000),
            ("2048", 2048),
            ("1.5 MB", 1_500_000),
            ("1GiB", 1 << 30),
        ] {
            assert_eq!(text.parse::<ByteSize>().unwrap().0, bytes, "{text}");
        }
        for bad in ["", "MiB", "1 parsec", "2GiB", "-1B"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad}");
        }
        assert_eq!(ByteSize(1 << 20).to_string(), "1MiB");
        assert_eq!(ByteSize(1000).to_string(), "1000B");
    }

    #[test]
    fn a_size_may_be_a_whole_number_of_bytes() {
        #[derive(serde::Deserialize)]
        struct T {
            size: ByteSize,
        }
        let read = |text: &str| toml::from_str::<T>(text).map(|t| t.size.0);
        assert_eq!(read("size = 100").unwrap(), 100);
        assert_eq!(read("size = \"100\"").unwrap(), 100);
        assert_eq!(read("size = \"1KiB\"").unwrap(), 1024);
        assert!(read("size = 1073741825").is_err(), "more than 1GiB");
        assert!(read("size = -1").is_err());
        assert!(read("size = 1.5").is_err(), "a fraction of a byte");
    }

    #[test]
    fn parses_the_forms_the_language_documents() {
        let cases = [
            ("250ms", 250 * NS_PER_MS),
            ("30s", 30 * NS_PER_S),
            ("5m", 5 * NS_PER_M),
            ("1h", NS_PER_H),
            ("1m30s", 90 * NS_PER_S),
            ("1.5s", 1_500 * NS_PER_MS),
            ("100us", 100 * NS_PER_US),
            ("0s", 0),
        ];
        for (text, ns) in cases {
            assert_eq!(text.parse::<Duration>().unwrap().as_nanos(), ns, "{text}");
        }
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        for text in [
            "", "5", "5 m", "m", "1.s", ".5s", "5min", "-1s", "1d", "5ms5",
        ] {
            assert!(
                matches!(text.parse::<Duration>(), Err(DurationError::Syntax(_))),
                "{text}"
            );
        }
        assert!(matches!(
            "9999999999999999999999999999999999h".parse::<Duration>(),
            Err(DurationError::TooLong(_))
        ));
        assert!(matches!(
            "367d".parse::<Duration>(),
            Err(DurationError::Syntax(_))
        ));
        assert!(matches!(
            "8785h".parse::<Duration>(),
            Err(DurationError::TooLong(_))
        ));
    }

    #[test]
    fn displays_canonically_and_round_trips() {
        for (text, shown) in [
            ("90s", "1m30s"),
            ("1500ms", "1s500ms"),
            ("0ms", "0s"),
            ("2h", "2h"),
        ] {
            let d: Duration = text.parse().unwrap();
            assert_eq!(d.to_string(), shown);
            assert_eq!(shown.parse::<Duration>().unwrap(), d);
        }
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(18_000_000), "18,000,000");
    }
}
