//! Validation against Microsoft's EWS schema (Exchange2010_SP2 level, in `shared/ews-schema`).
//!
//! The schema is compiled once per validator (30–60 ms, ~5 MB). libxml2's validation context
//! is not `Send`, so it lives on a thread of its own and documents are handed to it over a
//! channel: one compiled schema, usable from any request thread, no `unsafe`.

use libxml::parser::{Parser, ParserOptions, XmlParseFailure};
use libxml::schemas::{SchemaParserContext, SchemaValidationContext};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};

/// The longest single diagnostic kept. libxml2 lists every allowed value of an enumeration
/// in its message; the ResponseCode one alone is ~15 KB.
const MAX_MESSAGE_CHARS: usize = 600;
/// Diagnostics kept per document; the first explains the failure, the rest are usually
/// consequences of it.
const MAX_MESSAGES: usize = 8;

/// Why the schema could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// `soap-envelope.xsd` is missing or its path cannot be handed to libxml2.
    #[error("schema entry point {path} is not usable: {reason}")]
    EntryPoint {
        /// The path looked at.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// libxml2 could not compile the schema.
    #[error("schema {path} does not compile: {message}")]
    Compile {
        /// The entry point.
        path: String,
        /// libxml2's first diagnostics.
        message: String,
    },
    /// The validation thread could not be started or died.
    #[error("schema validation thread unavailable")]
    Thread,
}

struct Job {
    xml: Vec<u8>,
    reply: mpsc::Sender<Result<(), Vec<String>>>,
}

/// A compiled EWS schema that validates whole SOAP envelopes (or a bare body or header
/// element), as `xmllint --schema soap-envelope.xsd` does.
#[derive(Debug)]
pub struct SchemaValidator {
    entry: PathBuf,
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl SchemaValidator {
    /// Compiles `<schema_dir>/soap-envelope.xsd` (which imports `messages.xsd`, `types.xsd`
    /// and `xml.xsd` from the same directory).
    pub fn load(schema_dir: &Path) -> Result<Self, SchemaError> {
        let entry = schema_dir.join("soap-envelope.xsd");
        let shown = entry.display().to_string();
        if !entry.is_file() {
            return Err(SchemaError::EntryPoint {
                path: shown,
                reason: "no such file".into(),
            });
        }
        // libxml's from_file panics on an interior NUL; refuse such a path up front.
        let path = match entry.to_str() {
            Some(p) if !p.contains('\0') => p.to_owned(),
            _ => {
                return Err(SchemaError::EntryPoint {
                    path: shown,
                    reason: "path is not valid UTF-8 or contains NUL".into(),
                });
            }
        };
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("ews-schema".into())
            .spawn(move || validation_thread(&path, &ready_tx, &jobs_rx))
            .map_err(|_| SchemaError::Thread)?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Self {
                entry,
                jobs: Mutex::new(jobs_tx),
            }),
            Ok(Err(message)) => Err(SchemaError::Compile {
                path: shown,
                message,
            }),
            Err(_) => Err(SchemaError::Thread),
        }
    }

    /// The entry point this validator was compiled from.
    pub fn entry_point(&self) -> &Path {
        &self.entry
    }

    /// Validates one document. `Err` carries libxml2's diagnostics (`line N: message`),
    /// each truncated, at most a handful; a malformed document fails with the parser's
    /// diagnostics.
    pub fn validate(&self, xml: &[u8]) -> Result<(), Vec<String>> {
        let (reply_tx, reply_rx) = mpsc::channel();
        let job = Job {
            xml: xml.to_vec(),
            reply: reply_tx,
        };
        let sent = match self.jobs.lock() {
            Ok(jobs) => jobs.send(job).is_ok(),
            Err(poisoned) => poisoned.into_inner().send(job).is_ok(),
        };
        if !sent {
            return Err(vec!["schema validation thread unavailable".into()]);
        }
        reply_rx
            .recv()
            .unwrap_or_else(|_| Err(vec!["schema validation thread unavailable".into()]))
    }
}

fn validation_thread(
    path: &str,
    ready: &mpsc::Sender<Result<(), String>>,
    jobs: &mpsc::Receiver<Job>,
) {
    let mut parser = SchemaParserContext::from_file(path);
    let mut ctx = match SchemaValidationContext::from_parser(&mut parser) {
        Ok(ctx) => ctx,
        Err(errors) => {
            let messages = format_errors(
                errors
                    .iter()
                    .map(|e| (e.line, e.message.clone().unwrap_or_default())),
            );
            let _ = ready.send(Err(messages.join("; ")));
            return;
        }
    };
    if ready.send(Ok(())).is_err() {
        return;
    }
    // Ends when the validator (the only sender) is dropped.
    for job in jobs {
        let verdict = validate_with(&mut ctx, &job.xml);
        let _ = job.reply.send(verdict);
    }
}

fn validate_with(ctx: &mut SchemaValidationContext, xml: &[u8]) -> Result<(), Vec<String>> {
    // recover: false, or libxml2 repairs malformed input and validates the repair;
    // no_net: never fetch anything a document points at; huge: real responses carry
    // multi-megabyte base64 text nodes (MimeContent, attachments).
    let options = ParserOptions {
        recover: false,
        no_net: true,
        huge: true,
        ..ParserOptions::default()
    };
    let doc = match Parser::default().parse_string_with_diagnostics(xml, options) {
        Ok((doc, _warnings)) => doc,
        Err(XmlParseFailure::ParseFailed(diagnostics)) => {
            let mut out = format_errors(
                diagnostics
                    .iter()
                    .map(|d| (d.line, d.message.clone().unwrap_or_default())),
            );
            if out.is_empty() {
                out.push("the document is not well-formed XML".into());
            }
            return Err(out);
        }
        Err(other) => return Err(vec![truncate(&other.to_string())]),
    };
    ctx.validate_document(&doc).map_err(|errors| {
        format_errors(
            errors
                .iter()
                .map(|e| (e.line, e.message.clone().unwrap_or_default())),
        )
    })
}

fn format_errors(errors: impl Iterator<Item = (Option<i32>, String)>) -> Vec<String> {
    errors
        .take(MAX_MESSAGES)
        .map(|(line, message)| {
            let message = message.trim();
            match line {
                Some(line) if line > 0 => truncate(&format!("line {line}: {message}")),
                _ => truncate(message),
            }
        })
        .collect()
}

/// Cuts `s` to [`MAX_MESSAGE_CHARS`] characters (never inside a UTF-8 sequence).
pub(crate) fn truncate(s: &str) -> String {
    match s.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_dir() -> PathBuf {
        crate::ews::ExchangeOptions::default_schema_dir()
    }

    #[test]
    fn a_missing_schema_directory_is_an_entry_point_error() {
        let err = SchemaValidator::load(Path::new("/nonexistent/schema")).unwrap_err();
        assert!(matches!(err, SchemaError::EntryPoint { .. }), "{err}");
    }

    #[test]
    fn the_valid_examples_validate_and_the_invalid_ones_do_not() {
        let v = SchemaValidator::load(&schema_dir()).unwrap();
        let mut seen = 0;
        for entry in std::fs::read_dir(schema_dir().join("examples")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let xml = std::fs::read(&path).unwrap();
            let verdict = v.validate(&xml);
            if name.starts_with("invalid-") {
                assert!(verdict.is_err(), "{name} was accepted");
            } else {
                assert!(verdict.is_ok(), "{name} was rejected: {verdict:?}");
            }
            seen += 1;
        }
        assert!(seen >= 8);
    }

    #[test]
    fn a_malformed_document_is_rejected_with_a_line_number() {
        let v = SchemaValidator::load(&schema_dir()).unwrap();
        let errors = v.validate(b"<a>\n<b></a>").unwrap_err();
        assert!(errors[0].starts_with("line "), "{errors:?}");
    }

    #[test]
    fn enumeration_diagnostics_are_truncated() {
        let v = SchemaValidator::load(&schema_dir()).unwrap();
        let doc = r#"<m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Error"><m:ResponseCode>ErrorNoSuchThing</m:ResponseCode><m:Items/></m:GetItemResponseMessage></m:ResponseMessages></m:GetItemResponse>"#;
        let errors = v.validate(doc.as_bytes()).unwrap_err();
        assert!(
            errors
                .iter()
                .all(|e| e.chars().count() <= MAX_MESSAGE_CHARS + 1)
        );
        assert!(errors[0].contains("ErrorNoSuchThing"), "{errors:?}");
    }
}
