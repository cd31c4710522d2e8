//! `exsync ews decode`: any EWS response or POX Autodiscover response as JSON.
//!
//! The document is read with the same code exsync's sync uses
//! ([`exsync_ews::decode::decode_response`] and
//! [`exsync_ews::autodiscover::parse_pox_response`]), so what the command prints is what
//! exsync would make of it. A document neither can read becomes one [`DecodeError`] that
//! says what is wrong and where.

use std::io::Read;
use std::path::Path;

use exsync_ews::EwsError;
use exsync_ews::autodiscover::{PoxParseError, PoxResponse, parse_pox_response};
use exsync_ews::decode::decode_response;
use exsync_ews::xml::XmlError;
use serde_json::{Value, json};

/// The largest document read: what exsync accepts from a server (64 MiB). Reading stops
/// there, so `decode /dev/zero` ends.
pub const MAX_DOCUMENT_BYTES: u64 = 64 * 1024 * 1024;

/// Why a document could not be decoded. `Display` is one line: the CLI prints it after the
/// file name.
#[derive(Debug)]
pub enum DecodeError {
    /// The file (or standard input) could not be read.
    Read(std::io::Error),
    /// More than [`MAX_DOCUMENT_BYTES`].
    TooLarge,
    /// Nothing but whitespace.
    Empty,
    /// Bytes without any element: not XML at all.
    NotXml,
    /// An HTML page (a proxy's or IIS's error page), which is not XML.
    Html(XmlError),
    /// Not well-formed XML (truncated, binary…), or over a limit.
    Xml(XmlError),
    /// Well-formed XML with a root neither reader knows.
    UnknownDocument {
        /// The root element's namespace URI.
        ns: String,
        /// The root element's local name.
        name: String,
    },
    /// A SOAP envelope without the shape EWS promises.
    InvalidEws(EwsError),
    /// An Autodiscover document without the elements POX requires.
    InvalidAutodiscover(PoxParseError),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Read(e) => write!(f, "cannot read: {e}"),
            DecodeError::TooLarge => write!(
                f,
                "larger than {} MiB: not an EWS or Autodiscover response",
                MAX_DOCUMENT_BYTES / (1024 * 1024)
            ),
            DecodeError::Empty => write!(f, "empty document: nothing to decode"),
            DecodeError::NotXml => write!(f, "not XML: no element in the document"),
            DecodeError::Html(e) => write!(
                f,
                "an HTML page, not an EWS or Autodiscover document (reading it as XML: {e})"
            ),
            DecodeError::Xml(e) => write!(f, "{e}"),
            DecodeError::UnknownDocument { ns, name } => write!(
                f,
                "not an EWS or Autodiscover document (root element {{{ns}}}{name})"
            ),
            DecodeError::InvalidEws(e) => write!(f, "not a valid EWS response: {e}"),
            DecodeError::InvalidAutodiscover(e) => {
                write!(f, "not a valid Autodiscover response: {e}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Reads `path` (`-` for standard input), at most [`MAX_DOCUMENT_BYTES`].
pub fn read_document(path: &Path) -> Result<Vec<u8>, DecodeError> {
    let mut bytes = Vec::new();
    let limit = MAX_DOCUMENT_BYTES + 1;
    let read = if path == Path::new("-") {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|file| file.take(limit).read_to_end(&mut bytes))
    };
    read.map_err(DecodeError::Read)?;
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(DecodeError::TooLarge);
    }
    Ok(bytes)
}

/// Decodes an EWS response (`"document": "ews"`) or a POX Autodiscover response
/// (`"document": "autodiscover"`).
pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::Empty);
    }
    match decode_response(bytes) {
        Ok(mut value) => {
            if let Value::Object(map) = &mut value {
                map.insert("document".into(), json!("ews"));
            }
            Ok(value)
        }
        Err(EwsError::NotSoapEnvelope { .. }) => decode_autodiscover(bytes),
        Err(EwsError::Xml(XmlError::Empty)) => Err(DecodeError::NotXml),
        Err(EwsError::Xml(e)) if looks_like_html(bytes) => Err(DecodeError::Html(e)),
        Err(EwsError::Xml(e)) => Err(DecodeError::Xml(e)),
        Err(e) => Err(DecodeError::InvalidEws(e)),
    }
}

fn decode_autodiscover(bytes: &[u8]) -> Result<Value, DecodeError> {
    let response = match parse_pox_response(bytes) {
        Ok(r) => r,
        Err(PoxParseError::NotAutodiscover { ns, name }) => {
            return Err(DecodeError::UnknownDocument { ns, name });
        }
        Err(PoxParseError::Xml(e)) => return Err(DecodeError::Xml(e)),
        Err(e) => return Err(DecodeError::InvalidAutodiscover(e)),
    };
    // The EWS URL exsync would use, so the output answers "where is EWS?" at a glance.
    let (ews_url, protocol) = match &response {
        PoxResponse::Settings(settings) => settings
            .ews_url_candidates()
            .first()
            .map(|(p, url)| (Some((*url).to_owned()), Some(p.kind.clone())))
            .unwrap_or((None, None)),
        _ => (None, None),
    };
    let mut value = serde_json::to_value(&response).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("document".into(), json!("autodiscover"));
        if let Some(url) = ews_url {
            map.insert("ews_url".into(), json!(url));
            map.insert("ews_url_protocol".into(), json!(protocol));
        }
    }
    Ok(value)
}

/// An HTML page rather than XML: proxies and IIS answer with these, and saying so is more
/// useful than the XML reader's complaint about a DOCTYPE or an unclosed `<br>`.
fn looks_like_html(bytes: &[u8]) -> bool {
    let head: String = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)])
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_only_is_an_empty_document() {
        assert!(matches!(decode(b" \n\t"), Err(DecodeError::Empty)));
    }

    #[test]
    fn an_html5_page_is_named_as_html() {
        let err = decode(b"<!DOCTYPE html>\n<html><body><br></body></html>").unwrap_err();
        assert!(matches!(err, DecodeError::Html(_)), "{err:?}");
        assert!(err.to_string().starts_with("an HTML page"), "{err}");
    }

    #[test]
    fn an_unknown_root_is_named_with_its_namespace() {
        let err = decode(br#"<feed xmlns="http://www.w3.org/2005/Atom"/>"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not an EWS or Autodiscover document (root element {http://www.w3.org/2005/Atom}feed)"
        );
    }

    #[test]
    fn a_soap_envelope_with_a_foreign_body_is_an_invalid_ews_response() {
        let err = decode(
            br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x:Ping xmlns:x="urn:x"/></s:Body></s:Envelope>"#,
        )
        .unwrap_err();
        assert!(matches!(err, DecodeError::InvalidEws(_)), "{err:?}");
    }

    #[test]
    fn an_autodiscover_document_without_an_account_is_invalid_autodiscover() {
        let err = decode(
            br#"<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"/></Autodiscover>"#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("not a valid Autodiscover response: missing Account"),
            "{err}"
        );
    }
}
