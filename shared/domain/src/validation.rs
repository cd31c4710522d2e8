//! Field validation: every error names the field it is about, in the API's spelling
//! (`incoming_ews_url`, `max_concurrent_connections`), so an admin API can answer 400 with
//! a message an admin can act on.

use serde::Serialize;
use std::fmt;

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field, as the API names it (dotted for nested fields).
    pub field: String,
    /// What is wrong, in words an admin understands.
    pub message: String,
}

/// Every invalid field of one input (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// Records that `field` is invalid.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// `Ok(())` when nothing was recorded.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Field checks shared by every input. Each records an error on `errs` (naming `field`)
/// and returns the parsed value when the input is acceptable, so one pass reports every bad
/// field at once.
pub(crate) mod check {
    use super::ValidationErrors;
    use crate::ids::{EmailAddress, Principal};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    /// A trimmed, non-empty text of at most `max` characters.
    pub(crate) fn required_text(
        errs: &mut ValidationErrors,
        field: &str,
        value: Option<&str>,
        max: usize,
    ) -> Option<String> {
        match value.map(str::trim) {
            None | Some("") => {
                errs.add(field, "is required");
                None
            }
            Some(v) => bounded(errs, field, v, max),
        }
    }

    /// An optional trimmed text of at most `max` characters (empty when absent).
    pub(crate) fn optional_text(
        errs: &mut ValidationErrors,
        field: &str,
        value: Option<&str>,
        max: usize,
    ) -> String {
        bounded(errs, field, value.map(str::trim).unwrap_or(""), max).unwrap_or_default()
    }

    fn bounded(errs: &mut ValidationErrors, field: &str, v: &str, max: usize) -> Option<String> {
        if v.chars().count() > max {
            errs.add(field, format!("must be at most {max} characters"));
            None
        } else if v
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            errs.add(field, "must not contain control characters");
            None
        } else {
            Some(v.to_owned())
        }
    }

    /// A required email address.
    pub(crate) fn email(
        errs: &mut ValidationErrors,
        field: &str,
        value: Option<&str>,
    ) -> Option<EmailAddress> {
        match value.map(str::trim) {
            None | Some("") => {
                errs.add(field, "is required");
                None
            }
            Some(v) => optional_email(errs, field, Some(v)),
        }
    }

    /// An email address when given.
    pub(crate) fn optional_email(
        errs: &mut ValidationErrors,
        field: &str,
        value: Option<&str>,
    ) -> Option<EmailAddress> {
        let v = value.map(str::trim).filter(|v| !v.is_empty())?;
        let parsed = EmailAddress::parse(v);
        if parsed.is_none() {
            errs.add(field, "must be an email address (name@domain.tld)");
        }
        parsed
    }

    /// A list of email addresses; each bad one is named by its index (`to.1`).
    pub(crate) fn emails(
        errs: &mut ValidationErrors,
        field: &str,
        values: &[String],
    ) -> Vec<EmailAddress> {
        values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| email(errs, &format!("{field}.{i}"), Some(v)))
            .collect()
    }

    /// A principal name when given.
    pub(crate) fn optional_principal(
        errs: &mut ValidationErrors,
        field: &str,
        value: Option<&str>,
    ) -> Option<Principal> {
        let v = value.map(str::trim).filter(|v| !v.is_empty())?;
        let parsed = Principal::parse(v);
        if parsed.is_none() {
            errs.add(
                field,
                "must be a principal name (at most 512 characters, no '#')",
            );
        }
        parsed
    }

    /// A whole number in `min..=max`, or `default` when absent.
    pub(crate) fn range(
        errs: &mut ValidationErrors,
        field: &str,
        value: Option<i64>,
        min: u32,
        max: u32,
        default: u32,
    ) -> u32 {
        match value {
            None => default,
            Some(v) if v >= i64::from(min) && v <= i64::from(max) => {
                u32::try_from(v).unwrap_or(default)
            }
            Some(_) => {
                errs.add(field, format!("must be between {min} and {max}"));
                default
            }
        }
    }

    /// An RFC 3339 date-time when given (`2024-05-01T00:00:00Z`).
    pub(crate) fn optional_datetime(
        errs: &mut ValidationErrors,
        field: &str,
        value: Option<&str>,
    ) -> Option<OffsetDateTime> {
        let v = value.map(str::trim).filter(|v| !v.is_empty())?;
        match OffsetDateTime::parse(v, &Rfc3339) {
            Ok(t) => Some(t),
            Err(_) => {
                errs.add(
                    field,
                    "must be an RFC 3339 date-time (2024-05-01T09:00:00Z)",
                );
                None
            }
        }
    }

    /// A required RFC 3339 date-time.
    pub(crate) fn datetime(
        errs: &mut ValidationErrors,
        field: &str,
        value: Option<&str>,
    ) -> Option<OffsetDateTime> {
        if value.map(str::trim).is_none_or(str::is_empty) {
            errs.add(field, "is required");
            return None;
        }
        optional_datetime(errs, field, value)
    }

    /// An absolute `https://` URL with a host and without credentials, when given. EWS
    /// carries credentials and mail, so plain HTTP is refused outright.
    pub(crate) fn optional_https_url(
        errs: &mut ValidationErrors,
        field: &str,
        value: Option<&str>,
    ) -> Option<String> {
        let v = value.map(str::trim).filter(|v| !v.is_empty())?;
        let Ok(url) = url::Url::parse(v) else {
            errs.add(
                field,
                "must be a URL (https://mail.contoso.com/EWS/Exchange.asmx)",
            );
            return None;
        };
        if url.scheme() != "https" {
            errs.add(field, "must be an https:// URL");
            return None;
        }
        if url.host_str().is_none_or(str::is_empty) {
            errs.add(field, "must name a host");
            return None;
        }
        if !url.username().is_empty() || url.password().is_some() {
            errs.add(field, "must not contain credentials");
            return None;
        }
        Some(url.to_string())
    }

    /// A Windows account name as EWS authenticates it: `DOMAIN\user`, `user@domain` or a
    /// bare `user`.
    pub(crate) fn user_name(
        errs: &mut ValidationErrors,
        field: &str,
        value: Option<&str>,
    ) -> Option<String> {
        let v = required_text(errs, field, value, 256)?;
        let ok = if let Some((domain, account)) = v.split_once('\\') {
            !domain.is_empty() && !account.is_empty() && !account.contains('\\')
        } else if let Some((account, domain)) = v.rsplit_once('@') {
            !account.is_empty() && !domain.is_empty()
        } else {
            true
        };
        if !ok || v.chars().any(char::is_control) || v.contains(':') {
            errs.add(field, "must be DOMAIN\\user or user@domain");
            return None;
        }
        Some(v)
    }

    /// One or more PEM certificates that parse as X.509, when given. Checked here so a
    /// pasted key or a truncated certificate is a 400 on the field, not a TLS failure later.
    pub(crate) fn optional_pem_certificates(
        errs: &mut ValidationErrors,
        field: &str,
        value: Option<&str>,
    ) -> Option<String> {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject as _;
        let v = value.map(str::trim).filter(|v| !v.is_empty())?;
        if v.len() > 256 * 1024 {
            errs.add(field, "must be at most 256 KiB");
            return None;
        }
        let mut roots = rustls::RootCertStore::empty();
        let mut count = 0usize;
        for cert in CertificateDer::pem_slice_iter(v.as_bytes()) {
            let parsed = cert.ok().and_then(|c| roots.add(c).ok());
            if parsed.is_none() {
                errs.add(
                    field,
                    "must contain only PEM certificates that parse as X.509",
                );
                return None;
            }
            count += 1;
        }
        if count == 0 {
            errs.add(
                field,
                "must contain at least one PEM certificate (-----BEGIN CERTIFICATE-----)",
            );
            return None;
        }
        Some(format!("{v}\n"))
    }
}
