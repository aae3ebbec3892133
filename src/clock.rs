//! Wall-clock facts for run.json and run folder names (never for results.json).

use std::time::{SystemTime, UNIX_EPOCH};

/// (year, month, day, hour, minute, second) in UTC for `t`.
fn civil(t: SystemTime) -> (i64, u32, u32, u32, u32, u32) {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + (month <= 2) as i64;
    (
        year,
        month,
        day,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// `2026-11-27T02:35:10Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = civil(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `2026-11-27T02:35:10.250Z`: with milliseconds, for instants shards share.
pub fn rfc3339_ms(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = civil(t);
    let ms = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_millis());
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

/// `20261127-023510`, for run folder names.
pub fn compact(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = civil(t);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}")
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's days-from-civil).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An RFC 3339 instant with its offset (`2026-12-01T10:00:00Z`,
/// `2026-12-01T11:00:00.5+01:00`), as a point in time.
pub fn parse_rfc3339(s: &str) -> Result<SystemTime, String> {
    let bad = || format!("\"{s}\" is not an RFC 3339 instant such as 2026-12-01T10:00:00Z");
    let dt: toml::value::Datetime = s.trim().parse().map_err(|_| bad())?;
    let (Some(date), Some(time), Some(offset)) = (dt.date, dt.time, dt.offset) else {
        return Err(bad() + " (with a date, a time and an offset: Z or +HH:MM)");
    };
    let offset_s = match offset {
        toml::value::Offset::Z => 0,
        toml::value::Offset::Custom { minutes } => i64::from(minutes) * 60,
    };
    let secs = days_from_civil(
        i64::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    ) * 86_400
        + i64::from(time.hour) * 3600
        + i64::from(time.minute) * 60
        + i64::from(time.second.unwrap_or(0))
        - offset_s;
    let secs = u64::try_from(secs).map_err(|_| bad() + " (before 1970)")?;
    Ok(UNIX_EPOCH
        + std::time::Duration::from_secs(secs)
        + std::time::Duration::from_nanos(u64::from(time.nanosecond.unwrap_or(0))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_what_it_formats_and_offsets() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_745_858);
        assert_eq!(parse_rfc3339(&rfc3339(t)), Ok(t));
        let t_ms = t + Duration::from_millis(7);
        assert_eq!(rfc3339_ms(t_ms), "2026-11-27T02:17:38.007Z");
        assert_eq!(parse_rfc3339(&rfc3339_ms(t_ms)), Ok(t_ms));
        assert_eq!(
            parse_rfc3339("2026-11-27T03:17:38.250+01:00"),
            Ok(t + Duration::from_millis(250))
        );
        assert_eq!(
            parse_rfc3339("2000-02-29T00:00:00Z"),
            Ok(UNIX_EPOCH + Duration::from_secs(951_782_400))
        );
        for bad in [
            "2026-11-27",
            "2026-11-27T03:17:38",
            "soon",
            "2026-13-01T00:00:00Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        // 2026-11-27T02:17:38Z
        let t = UNIX_EPOCH + Duration::from_secs(1_795_745_858);
        assert_eq!(rfc3339(t), "2026-11-27T02:17:38Z");
        assert_eq!(compact(t), "20261127-021738");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
    }
}
