//! Excel's 1900 date system, in one place: serial day numbers to calendar dates and back,
//! and the month names. Detection (a date written as text is looked up as its serial), the
//! number formats (a serial rendered as Excel shows it) and the evaluation corpus all use
//! these, so a date means the same day everywhere.
//!
//! Serial 1 is 1900-01-01. Excel keeps Lotus 1-2-3's phantom 1900-02-29 as serial 60, so
//! from 1900-03-01 (serial 61) on, serials are one more than a real calendar's day count;
//! before it they are not. Serial 0 shows as "1900-01-00".

/// Month names, January first. Short forms are their first three letters.
pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Serial of 1970-01-01.
const UNIX_EPOCH_SERIAL: i64 = 25_569;
/// The phantom 1900-02-29.
const PHANTOM_LEAP_DAY: i64 = 60;
/// Largest serial Excel shows as a date: 9999-12-31.
pub const MAX_SERIAL: i64 = 2_958_465;

/// Days in month `m` (1-12) of year `y` (proleptic Gregorian); 0 for a month out of range.
pub fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a calendar date. Howard Hinnant's algorithm.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The calendar date of a day count since 1970-01-01. Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The serial of a date from 1900-01-01 to 9999-12-31 (1900-02-29 included, as Excel has
/// it); `None` for anything else.
pub fn serial_from_date(y: i64, m: i64, d: i64) -> Option<i64> {
    if (y, m, d) == (1900, 2, 29) {
        return Some(PHANTOM_LEAP_DAY);
    }
    if !(1900..=9999).contains(&y) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let real = days_from_civil(y, m, d) + UNIX_EPOCH_SERIAL;
    // Before the phantom day the count is one less than the formula (which assumes it).
    Some(if real <= PHANTOM_LEAP_DAY {
        real - 1
    } else {
        real
    })
}

/// The date Excel shows for whole-day serial `days` (0 to [`MAX_SERIAL`]): serial 0 is
/// 1900-01-00 and 60 the phantom 1900-02-29; `None` outside that range.
pub fn date_from_serial(days: i64) -> Option<(i64, u32, u32)> {
    match days {
        0 => Some((1900, 1, 0)),
        PHANTOM_LEAP_DAY => Some((1900, 2, 29)),
        1..PHANTOM_LEAP_DAY => Some(civil_from_days(days + 1 - UNIX_EPOCH_SERIAL)),
        61..=MAX_SERIAL => Some(civil_from_days(days - UNIX_EPOCH_SERIAL)),
        _ => None,
    }
}

/// The weekday of whole-day serial `days`, 0 = Sunday: the real calendar's for every
/// real date (the phantom 1900-02-29 gets Wednesday's).
pub fn weekday_of_serial(days: i64) -> usize {
    // 1899-12-31 (serial 0) was a Sunday; the phantom day shifts every later serial.
    if days < PHANTOM_LEAP_DAY {
        days.rem_euclid(7) as usize
    } else {
        (days - 1).rem_euclid(7) as usize
    }
}

/// The month (1-12) a name stands for: full ("March"), three letters ("Mar", "mar."), or
/// "Sept"; any case.
pub fn month_from_name(s: &str) -> Option<i64> {
    let l = s.trim_end_matches('.').to_lowercase();
    if l.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|full| {
            let full = full.to_lowercase();
            l == full || l == full[..3] || (l == "sept" && full == "september")
        })
        .map(|i| i as i64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_months_of_1900_and_the_phantom_leap_day() {
        assert_eq!(serial_from_date(1900, 1, 1), Some(1));
        assert_eq!(serial_from_date(1900, 1, 31), Some(31));
        assert_eq!(serial_from_date(1900, 2, 28), Some(59));
        assert_eq!(serial_from_date(1900, 2, 29), Some(60));
        assert_eq!(serial_from_date(1900, 3, 1), Some(61));
        assert_eq!(serial_from_date(1970, 1, 1), Some(25_569));
        assert_eq!(serial_from_date(2024, 3, 15), Some(45_366));
        assert_eq!(serial_from_date(9999, 12, 31), Some(MAX_SERIAL));
        assert_eq!(serial_from_date(1899, 12, 31), None);
        assert_eq!(serial_from_date(2023, 2, 29), None);
        assert_eq!(serial_from_date(2024, 13, 1), None);
        assert_eq!(date_from_serial(0), Some((1900, 1, 0)));
        assert_eq!(date_from_serial(1), Some((1900, 1, 1)));
        assert_eq!(date_from_serial(59), Some((1900, 2, 28)));
        assert_eq!(date_from_serial(60), Some((1900, 2, 29)));
        assert_eq!(date_from_serial(61), Some((1900, 3, 1)));
        assert_eq!(date_from_serial(MAX_SERIAL + 1), None);
        assert_eq!(date_from_serial(-1), None);
    }

    #[test]
    fn serials_and_dates_round_trip() {
        for serial in 1..=80_000 {
            let (y, m, d) = date_from_serial(serial).unwrap();
            assert_eq!(
                serial_from_date(y, i64::from(m), i64::from(d)),
                Some(serial),
                "{y}-{m}-{d}"
            );
        }
    }

    #[test]
    fn weekdays_as_excel_counts_them() {
        assert_eq!(weekday_of_serial(1), 1, "1900-01-01 was a Monday");
        assert_eq!(weekday_of_serial(61), 4, "1900-03-01 was a Thursday");
        assert_eq!(weekday_of_serial(45_366), 5, "2024-03-15 was a Friday");
    }

    #[test]
    fn month_names() {
        assert_eq!(month_from_name("March"), Some(3));
        assert_eq!(month_from_name("mar."), Some(3));
        assert_eq!(month_from_name("SEPT"), Some(9));
        assert_eq!(month_from_name("Ma"), None);
        assert_eq!(month_from_name("Marc"), None);
    }
}
