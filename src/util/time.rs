//! Timestamps. Everything is UTC (decisions F14). The database stores the text form Python's
//! `str(datetime)` gives (`2026-11-28 03:37:28.710967`, microseconds omitted when zero): it sorts
//! correctly, and it is exactly the form the reference writes into `changed_event.new_value`.
//! The API shows the ISO form with a `T` separator and no timezone.

use chrono::{NaiveDateTime, Timelike, Utc};

/// The current UTC time, truncated to microseconds (what the reference stores).
pub fn now() -> NaiveDateTime {
    let now = Utc::now().naive_utc();
    let micros = now.nanosecond() / 1_000 * 1_000;
    now.with_nanosecond(micros).unwrap_or(now)
}

/// `2026-11-28 03:37:28.710967` / `2026-11-28 03:37:28`.
pub fn to_db_text(at: NaiveDateTime) -> String {
    if at.nanosecond() == 0 {
        at.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
    }
}

/// The current time in its database text form.
pub fn now_text() -> String {
    to_db_text(now())
}

/// Database text → API text (`2026-11-28T03:37:28.710967`).
pub fn db_text_to_api(text: &str) -> String {
    text.replacen(' ', "T", 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn text_forms_match_python() {
        let whole = NaiveDate::from_ymd_opt(2021, 1, 2)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        assert_eq!(to_db_text(whole), "2021-01-02 10:00:00");
        assert_eq!(db_text_to_api(&to_db_text(whole)), "2021-01-02T10:00:00");
        let fine = whole.with_nanosecond(567_554_000).unwrap();
        assert_eq!(to_db_text(fine), "2021-01-02 10:00:00.567554");
        let tiny = whole.with_nanosecond(1_000).unwrap();
        assert_eq!(to_db_text(tiny), "2021-01-02 10:00:00.000001");
    }
}
