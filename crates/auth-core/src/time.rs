//! Time as a value: `UnixTime` is passed into every check that judges freshness, and RFC 3339
//! text is parsed and formatted here so every scheme reads timestamps the same way.

use crate::error::{Error, Result};
use std::fmt;
use std::time::Duration;

/// A point in time, milliseconds since the Unix epoch (UTC). Adapters read the clock and
/// pass it in; auth-core never reads a clock itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime(u64);

impl UnixTime {
    /// The epoch itself.
    pub const EPOCH: Self = Self(0);

    /// From whole seconds since the epoch.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// From milliseconds since the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Whole seconds since the epoch (rounded down).
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at the end of representable time.
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(duration_millis(d)))
    }

    /// `self - d`, saturating at the epoch.
    pub fn saturating_sub(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(duration_millis(d)))
    }

    /// The distance between two times, whichever is later.
    pub fn abs_diff(self, other: Self) -> Duration {
        Duration::from_millis(self.0.abs_diff(other.0))
    }

    /// Parses RFC 3339 / ISO 8601 date-time text (`2022-04-03T21:31:47.296Z`,
    /// `2022-04-03T21:31:47.296123+00:00`). Fractions below a millisecond are dropped.
    pub fn parse_rfc3339(text: &str) -> Result<Self> {
        parse_rfc3339(text.as_bytes()).ok_or_else(|| {
            Error::malformed(
                "timestamp is not RFC 3339 (expected e.g. 2022-04-03T21:31:47.296Z or +00:00 offset)",
            )
        })
    }

    /// RFC 3339 in UTC with `Z`; milliseconds only when they are not zero.
    pub fn to_rfc3339(self) -> String {
        let secs = self.0 / 1000;
        let millis = self.0 % 1000;
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        let mut out = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            rem / 3600,
            (rem / 60) % 60,
            rem % 60
        );
        if millis != 0 {
            out.push_str(&format!(".{millis:03}"));
        }
        out.push('Z');
        out
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

fn duration_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn digits(b: &[u8]) -> Option<u64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u64, |acc, c| acc * 10 + u64::from(c - b'0')))
}

fn parse_rfc3339(s: &[u8]) -> Option<UnixTime> {
    // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
    if s.len() < 20 || s.len() > 40 {
        return None;
    }
    let sep_ok = s[4] == b'-'
        && s[7] == b'-'
        && matches!(s[10], b'T' | b't' | b' ')
        && s[13] == b':'
        && s[16] == b':';
    if !sep_ok {
        return None;
    }
    let year = digits(&s[0..4])?;
    let month = digits(&s[5..7])?;
    let day = digits(&s[8..10])?;
    let hour = digits(&s[11..13])?;
    let minute = digits(&s[14..16])?;
    let second = digits(&s[17..19])?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &s[19..];
    let mut millis = 0u64;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        for i in 0..3 {
            millis = millis * 10
                + frac
                    .get(i)
                    .filter(|_| i < n)
                    .map_or(0, |c| u64::from(c - b'0'));
        }
        rest = &frac[n..];
    }
    let offset_secs: i64 = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])? as i64;
            let m = digits(&[*m1, *m2])? as i64;
            if h > 23 || m > 59 {
                return None;
            }
            let v = h * 3600 + m * 60;
            if *sign == b'-' { -v } else { v }
        }
        _ => return None,
    };
    let days = days_from_civil(year as i64, month, day);
    let local = days * 86_400 + (hour * 3600 + minute * 60 + second.min(59)) as i64;
    let utc = local - offset_secs;
    let utc = u64::try_from(utc).ok()?;
    Some(UnixTime(utc.checked_mul(1000)?.checked_add(millis)?))
}

fn is_leap(y: u64) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days.
fn days_from_civil(y: i64, m: u64, d: u64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u64, u64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u64;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sdk_forms() {
        let z = UnixTime::parse_rfc3339("2022-04-03T21:31:47.296Z").unwrap();
        assert_eq!(z.as_millis(), 1_649_021_507_296);
        let off = UnixTime::parse_rfc3339("2022-04-03T21:31:47.296123+00:00").unwrap();
        assert_eq!(off, z);
        let east = UnixTime::parse_rfc3339("2022-04-03T23:31:47.296+02:00").unwrap();
        assert_eq!(east, z);
        assert_eq!(
            UnixTime::parse_rfc3339("1970-01-01T00:00:00Z").unwrap(),
            UnixTime::EPOCH
        );
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "",
            "2022-04-03",
            "2022-13-03T21:31:47Z",
            "2022-02-30T21:31:47Z",
            "2022-04-03T24:31:47Z",
            "2022-04-03T21:31:47",
            "2022-04-03T21:31:47.Z",
            "2022-04-03T21:31:47+0000",
            "1969-12-31T23:59:59Z",
            "２022-04-03T21:31:47Z",
        ] {
            assert!(UnixTime::parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for ms in [
            0u64,
            1_649_021_507_296,
            1_649_021_507_000,
            4_102_444_800_000,
        ] {
            let t = UnixTime::from_millis(ms);
            assert_eq!(UnixTime::parse_rfc3339(&t.to_rfc3339()).unwrap(), t);
        }
        assert_eq!(
            UnixTime::from_secs(1_649_021_507).to_rfc3339(),
            "2022-04-03T21:31:47Z"
        );
    }
}
