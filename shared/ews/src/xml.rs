//! A small, bounded, namespace-aware XML element tree, and the writer requests are built with.
//!
//! EWS responses mix prefixes and default namespaces freely (`m:`, `t:`, unprefixed
//! `xmlns="…"`, even an unprefixed SOAP `Header`), so everything here matches on
//! (namespace URI, local name), never on prefixes. Reading is bounded (size, depth, element
//! count), refuses DTDs (no entity expansion), and never panics: a bad document is an
//! [`XmlError`] that says what and where.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use std::fmt::Write as _;

/// SOAP 1.1 envelope namespace.
pub const NS_SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// EWS messages namespace (`m:`).
pub const NS_MESSAGES: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
/// EWS types namespace (`t:`).
pub const NS_TYPES: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
/// EWS SOAP fault detail namespace (`e:`).
pub const NS_ERRORS: &str = "http://schemas.microsoft.com/exchange/services/2006/errors";
/// POX Autodiscover request namespace.
pub const NS_AUTODISCOVER_REQUEST: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
/// POX Autodiscover response envelope namespace.
pub const NS_AUTODISCOVER_RESPONSE: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
/// POX Autodiscover Outlook response namespace (`…/responseschema/2006a`).
pub const NS_AUTODISCOVER_OUTLOOK: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";

/// Limits applied while reading a document.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest document accepted, in bytes.
    pub max_bytes: usize,
    /// Deepest element nesting accepted.
    pub max_depth: usize,
    /// Most elements accepted in one document.
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            max_depth: 128,
            max_elements: 4_000_000,
        }
    }
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// The bytes are not well-formed XML (or not XML at all).
    #[error("malformed XML at byte {position}: {message}")]
    Malformed {
        /// Byte offset where reading stopped.
        position: u64,
        /// What the reader said.
        message: String,
    },
    /// The document declares a DTD; EWS never does, and entity expansion is refused.
    #[error("XML document declares a DTD at byte {position}; refused")]
    Dtd {
        /// Byte offset of the declaration.
        position: u64,
    },
    /// The document is empty or holds no element.
    #[error("empty document: no root element")]
    Empty,
    /// A limit was exceeded.
    #[error("XML document exceeds the {what} limit of {limit}")]
    TooLarge {
        /// Which limit.
        what: &'static str,
        /// Its value.
        limit: usize,
    },
}

/// One element: namespace, local name, attributes, children and text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Namespace URI ("" when none).
    pub ns: String,
    /// Local name (without prefix).
    pub name: String,
    /// Attributes as (namespace URI or "", local name, value); `xmlns` declarations omitted.
    pub attrs: Vec<(String, String, String)>,
    /// Child elements, in document order.
    pub children: Vec<Element>,
    /// The concatenated text and CDATA directly inside this element (untrimmed).
    pub text: String,
}

impl Element {
    /// True when this element is `{ns}name`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    /// The first child `{ns}name`.
    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// Every child `{ns}name`.
    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// Follows a path of `{ns}name` steps from this element.
    pub fn path(&self, steps: &[(&str, &str)]) -> Option<&Element> {
        steps
            .iter()
            .try_fold(self, |e, (ns, name)| e.child(ns, name))
    }

    /// The trimmed text of the first child `{ns}name`.
    pub fn child_text(&self, ns: &str, name: &str) -> Option<&str> {
        self.child(ns, name).map(|c| c.text.trim())
    }

    /// An unqualified attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(ns, n, _)| ns.is_empty() && n == name)
            .map(|(_, _, v)| v.as_str())
    }

    /// This element's text, trimmed.
    pub fn trimmed(&self) -> &str {
        self.text.trim()
    }

    /// The first child with this local name, in any namespace.
    ///
    /// Only for places where servers are known to vary the namespace (fault details,
    /// `ServerVersionInfo`); everywhere else match the namespace too.
    pub fn child_local(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Total number of elements in this subtree, this one included.
    pub fn count(&self) -> usize {
        1 + self.children.iter().map(Element::count).sum::<usize>()
    }
}

/// Reads a whole document into its root [`Element`].
pub fn parse(bytes: &[u8], limits: Limits) -> Result<Element, XmlError> {
    if bytes.len() > limits.max_bytes {
        return Err(XmlError::TooLarge {
            what: "size",
            limit: limits.max_bytes,
        });
    }
    // Some servers and published samples put whitespace (or a BOM) before `<?xml`.
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .unwrap_or(bytes.len());
    let mut bytes = &bytes[start..];
    // Positions in errors count from the start of the input, not of the trimmed text.
    let mut skipped = start as u64;
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        bytes = rest;
        skipped += 3;
    }
    let mut reader = NsReader::from_reader(bytes);
    reader.config_mut().trim_text(false);
    reader.config_mut().expand_empty_elements = true;
    reader.config_mut().check_end_names = true;

    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    let mut buf = Vec::new();
    loop {
        let position = skipped + reader.buffer_position();
        let malformed = |message: String| XmlError::Malformed { position, message };
        let event = reader.read_resolved_event_into(&mut buf);
        match event {
            Err(e) => return Err(malformed(e.to_string())),
            Ok((ns, Event::Start(start))) => {
                if root.is_some() {
                    return Err(malformed("content after the root element".into()));
                }
                elements += 1;
                if elements > limits.max_elements {
                    return Err(XmlError::TooLarge {
                        what: "element count",
                        limit: limits.max_elements,
                    });
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooLarge {
                        what: "depth",
                        limit: limits.max_depth,
                    });
                }
                let ns = namespace_of(ns).map_err(&malformed)?;
                let el = element_from(&reader, &start, ns).map_err(&malformed)?;
                stack.push(el);
            }
            Ok((_, Event::End(_))) => {
                let Some(done) = stack.pop() else {
                    return Err(malformed("unexpected end tag".into()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Ok((_, Event::Text(t))) => {
                if let Some(cur) = stack.last_mut() {
                    cur.text.push_str(&t.xml10_content());
                } else if !t.xml10_content().trim().is_empty() {
                    return Err(malformed("text outside the root element".into()));
                }
            }
            Ok((_, Event::GeneralRef(r))) => {
                let Some(cur) = stack.last_mut() else {
                    return Err(malformed(
                        "entity reference outside the root element".into(),
                    ));
                };
                if let Some(ch) = r.resolve_char_ref().map_err(|e| malformed(e.to_string()))? {
                    cur.text.push(ch);
                } else {
                    let name = r.xml10_content();
                    match quick_xml::escape::resolve_xml_entity(&name) {
                        Some(s) => cur.text.push_str(s),
                        None => return Err(malformed(format!("unknown entity &{name};"))),
                    }
                }
            }
            Ok((_, Event::CData(c))) => {
                if let Some(cur) = stack.last_mut() {
                    cur.text.push_str(&c.xml10_content());
                }
            }
            Ok((_, Event::DocType(_))) => return Err(XmlError::Dtd { position }),
            Ok((_, Event::Eof)) => break,
            Ok((_, Event::Empty(_))) => {
                // expand_empty_elements is on, so this cannot happen; refuse rather than panic.
                return Err(malformed("unexpected empty element event".into()));
            }
            Ok(_) => {} // declaration, comments, processing instructions
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed {
            position: skipped + reader.buffer_position(),
            message: format!(
                "document ends inside <{}>",
                stack.last().map(|e| e.name.as_str()).unwrap_or("")
            ),
        });
    }
    root.ok_or(XmlError::Empty)
}

fn namespace_of(ns: ResolveResult<'_>) -> Result<String, String> {
    match ns {
        ResolveResult::Bound(ns) => Ok(ns.as_ref().to_owned()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(p) => Err(format!("undeclared prefix {p}")),
    }
}

fn element_from<R>(
    reader: &NsReader<R>,
    start: &BytesStart<'_>,
    ns: String,
) -> Result<Element, String> {
    let name = start.local_name().as_ref().to_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        let key = attr.key;
        if key.as_ref() == "xmlns" || key.as_ref().starts_with("xmlns:") {
            continue;
        }
        let (ans, local) = reader.resolver().resolve_attribute(key);
        let ans = namespace_of(ans)?;
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?
            .into_owned();
        attrs.push((ans, local.as_ref().to_owned(), value));
    }
    Ok(Element {
        ns,
        name,
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
}

/// Builds request XML with the `m:`, `t:` and `soap:` prefixes EWS examples use.
///
/// Escapes text and attribute values; element names are written as given, so they must be
/// literal names from this crate, never input.
#[derive(Debug, Default)]
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    /// A new, empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens `<name attr="v"…>`.
    pub fn start(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.write_attrs(attrs);
        self.out.push('>');
        self
    }

    /// Writes `<name attr="v"…/>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.write_attrs(attrs);
        self.out.push_str("/>");
        self
    }

    /// Closes `</name>`.
    pub fn end(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.out, "</{name}>");
        self
    }

    /// Writes `<name>text</name>` with the text escaped.
    pub fn text_element(&mut self, name: &str, text: &str) -> &mut Self {
        self.start(name, &[]);
        self.text(text);
        self.end(name)
    }

    /// Writes escaped text.
    ///
    /// Characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates cannot occur
    /// in a `str`) become U+FFFD: one stray control character in an item's subject would
    /// otherwise make the whole request unreadable to Exchange and fail every item of the
    /// batch.
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.out
            .push_str(&quick_xml::escape::escape(xml_safe(text).as_ref()));
        self
    }

    /// Appends already-serialised XML (only from this crate's own writers).
    pub fn raw(&mut self, xml: &str) -> &mut Self {
        self.out.push_str(xml);
        self
    }

    /// The XML written so far.
    pub fn as_str(&self) -> &str {
        &self.out
    }

    /// Consumes the writer, returning the XML.
    pub fn into_string(self) -> String {
        self.out
    }

    fn write_attrs(&mut self, attrs: &[(&str, &str)]) {
        for (k, v) in attrs {
            let _ = write!(
                self.out,
                " {k}=\"{}\"",
                quick_xml::escape::escape(xml_safe(v).as_ref())
            );
        }
    }
}

/// True for characters XML 1.0 allows in content (`Char` production, minus surrogates which
/// a `char` cannot hold anyway).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn xml_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().all(is_xml_char) {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(
            text.chars()
                .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_on_namespace_not_prefix() {
        let doc = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><Body xmlns="http://schemas.xmlsoap.org/soap/envelope/"><m:X xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" a="1">hi &amp; &#65;</m:X></Body></s:Envelope>"#;
        let root = parse(doc, Limits::default()).expect("parses");
        assert!(root.is(NS_SOAP, "Envelope"));
        let x = root
            .path(&[(NS_SOAP, "Body"), (NS_MESSAGES, "X")])
            .expect("path");
        assert_eq!(x.text, "hi & A");
        assert_eq!(x.attr("a"), Some("1"));
    }

    #[test]
    fn error_positions_count_the_leading_whitespace() {
        let doc = format!("{}<a><b></a>", " ".repeat(10));
        match parse(doc.as_bytes(), Limits::default()) {
            Err(XmlError::Malformed { position, .. }) => assert!(position >= 16, "{position}"),
            other => panic!("expected a malformed-XML error, got {other:?}"),
        }
    }

    #[test]
    fn refuses_dtd() {
        let doc = br#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>"#;
        assert!(matches!(
            parse(doc, Limits::default()),
            Err(XmlError::Dtd { .. })
        ));
    }

    #[test]
    fn truncated_document_is_an_error() {
        let doc = b"<a><b>text</b>";
        assert!(matches!(
            parse(doc, Limits::default()),
            Err(XmlError::Malformed { .. })
        ));
    }

    #[test]
    fn html_error_page_is_an_error_not_a_panic() {
        let doc = b"<html><body><h1>502 Bad Gateway</h1><hr/><center>nginx</center></body></html>";
        // Well-formed HTML parses as XML; the caller then finds no SOAP envelope.
        let root = parse(doc, Limits::default()).expect("well-formed");
        assert!(!root.is(NS_SOAP, "Envelope"));
        assert!(parse(b"<html><br></html>", Limits::default()).is_err());
    }

    #[test]
    fn empty_body_is_empty() {
        assert_eq!(parse(b"", Limits::default()), Err(XmlError::Empty));
        assert_eq!(parse(b"  \n", Limits::default()), Err(XmlError::Empty));
    }

    #[test]
    fn depth_is_bounded() {
        let doc = "<a>".repeat(200) + &"</a>".repeat(200);
        let limits = Limits {
            max_depth: 100,
            ..Limits::default()
        };
        assert!(matches!(
            parse(doc.as_bytes(), limits),
            Err(XmlError::TooLarge { what: "depth", .. })
        ));
    }

    #[test]
    fn writer_replaces_characters_xml_cannot_carry() {
        let mut w = XmlWriter::new();
        w.start("t:A", &[("x", "a\u{1}")])
            .text("b\u{0}c\td")
            .end("t:A");
        assert_eq!(w.as_str(), "<t:A x=\"a\u{FFFD}\">b\u{FFFD}c\td</t:A>");
    }

    #[test]
    fn writer_escapes_text_and_attributes() {
        let mut w = XmlWriter::new();
        w.start("t:A", &[("x", "a\"<b")])
            .text("1 < 2 & 3")
            .end("t:A");
        assert_eq!(
            w.as_str(),
            r#"<t:A x="a&quot;&lt;b">1 &lt; 2 &amp; 3</t:A>"#
        );
    }
}
