//! `xs:dateTime` as EWS uses it.

use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A point in time from or for EWS (`DateTimeReceived`, `Start`, `DueDate`…).
///
/// Reading is lenient because servers differ: `Z` or a numeric offset, any number of
/// fractional digits (Exchange 2013+ sends seven), and a value without an offset is taken
/// as UTC (what Exchange means when it omits one). Writing is always
/// `YYYY-MM-DDTHH:MM:SSZ` in UTC: unambiguous for every server version, and what the
/// published request examples use.
///
/// Reference: [DateTimeReceived](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/datetimereceived).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime(pub OffsetDateTime);

impl DateTime {
    /// Reads an `xs:dateTime`; `None` when it is not one.
    pub fn parse(text: &str) -> Option<DateTime> {
        let text = text.trim();
        if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
            return Some(DateTime(t));
        }
        // No offset: Exchange means UTC.
        let local = format_description!(
            version = 2,
            "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
        );
        if let Ok(t) = PrimitiveDateTime::parse(text, &local) {
            return Some(DateTime(t.assume_utc()));
        }
        // A bare date (seen for birthdays and anniversaries from some clients).
        let date = format_description!(version = 2, "[year]-[month]-[day]");
        time::Date::parse(text, &date)
            .ok()
            .map(|d| DateTime(d.midnight().assume_utc()))
    }

    /// The value as exsync writes it: `YYYY-MM-DDTHH:MM:SSZ`, in UTC, whole seconds.
    pub fn to_ews(&self) -> String {
        let utc = self.0.to_offset(UtcOffset::UTC);
        let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        // Formatting a four-digit year cannot fail; years outside 0..=9999 fall back to
        // RFC 3339, which the server will refuse with a clear schema error.
        utc.format(&fmt)
            .or_else(|_| utc.format(&Rfc3339))
            .unwrap_or_default()
    }
}

impl From<OffsetDateTime> for DateTime {
    fn from(t: OffsetDateTime) -> Self {
        DateTime(t)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_ews())
    }
}

impl serde::Serialize for DateTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_ews())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn reads_utc_with_z() {
        assert_eq!(
            DateTime::parse("2006-10-28T01:37:06Z"),
            Some(DateTime(datetime!(2006-10-28 01:37:06 UTC)))
        );
    }

    #[test]
    fn reads_an_offset_as_the_same_instant() {
        let t = DateTime::parse("2006-10-28T03:37:06+02:00").unwrap();
        assert_eq!(t.to_ews(), "2006-10-28T01:37:06Z");
    }

    #[test]
    fn reads_seven_fractional_digits() {
        let t = DateTime::parse("2013-05-01T10:00:00.1234567Z").unwrap();
        assert_eq!(t.0.nanosecond(), 123_456_700);
    }

    #[test]
    fn reads_a_value_without_offset_as_utc() {
        let t = DateTime::parse("2013-05-01T10:00:00.5").unwrap();
        assert_eq!(t.to_ews(), "2013-05-01T10:00:00Z");
    }

    #[test]
    fn writes_whole_seconds_in_utc() {
        let t = DateTime(datetime!(2020-01-02 03:04:05.678 -05:00));
        assert_eq!(t.to_ews(), "2020-01-02T08:04:05Z");
    }

    #[test]
    fn rejects_what_is_not_a_date() {
        assert_eq!(DateTime::parse(""), None);
        assert_eq!(DateTime::parse("yesterday"), None);
        assert_eq!(DateTime::parse("2020-13-45T99:00:00Z"), None);
    }
}
