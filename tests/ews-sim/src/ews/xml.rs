//! Writing EWS documents (a string builder that escapes) and reading requests (helpers over
//! roxmltree that match on namespace + local name, never on prefixes).

use roxmltree::Node;
use std::fmt::Write as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// SOAP 1.1 envelope namespace.
pub const NS_SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// EWS messages namespace (`m:`).
pub const NS_M: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
/// EWS types namespace (`t:`).
pub const NS_T: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
/// SOAP fault detail namespace (`e:`).
pub const NS_E: &str = "http://schemas.microsoft.com/exchange/services/2006/errors";

/// Appends escaped XML to a string.
#[derive(Debug, Default)]
pub(crate) struct XmlWriter {
    buf: String,
}

fn allowed_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes text content; drops characters XML 1.0 cannot carry at all (C0 controls), and
/// keeps `\r` as a character reference so parsers do not normalise it away.
pub(crate) fn escape_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c if allowed_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

fn escape_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c if allowed_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

impl XmlWriter {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn open_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.buf.push('<');
        self.buf.push_str(name);
        for (k, v) in attrs {
            self.buf.push(' ');
            self.buf.push_str(k);
            self.buf.push_str("=\"");
            escape_attr(&mut self.buf, v);
            self.buf.push('"');
        }
    }

    /// `<name attrs…>`
    pub(crate) fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.open_tag(name, attrs);
        self.buf.push('>');
    }

    /// `</name>`
    pub(crate) fn end(&mut self, name: &str) {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    /// `<name attrs…/>`
    pub(crate) fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.open_tag(name, attrs);
        self.buf.push_str("/>");
    }

    /// `<name>text</name>`
    pub(crate) fn leaf(&mut self, name: &str, text: &str) {
        self.leaf_attrs(name, &[], text);
    }

    /// `<name attrs…>text</name>`
    pub(crate) fn leaf_attrs(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open_tag(name, attrs);
        self.buf.push('>');
        escape_text(&mut self.buf, text);
        self.end(name);
    }

    /// `<name>true|false</name>`
    pub(crate) fn leaf_bool(&mut self, name: &str, value: bool) {
        self.leaf(name, if value { "true" } else { "false" });
    }

    /// `<name>number</name>`
    pub(crate) fn leaf_num(&mut self, name: &str, value: impl std::fmt::Display) {
        self.open_tag(name, &[]);
        self.buf.push('>');
        let _ = write!(self.buf, "{value}");
        self.end(name);
    }

    /// `<name>xs:dateTime</name>`
    pub(crate) fn leaf_date(&mut self, name: &str, value: OffsetDateTime) {
        self.leaf(name, &format_datetime(value));
    }

    /// Markup produced elsewhere (already escaped).
    pub(crate) fn raw(&mut self, markup: &str) {
        self.buf.push_str(markup);
    }

    pub(crate) fn into_string(self) -> String {
        self.buf
    }
}

/// `xs:dateTime` in UTC with second precision, as Exchange writes it (`2024-05-01T12:00:00Z`).
pub(crate) fn format_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses `xs:dateTime`; a value without a zone is taken as UTC (EWS clients that send a
/// TimeZoneContext mean local time, which the simulator does not model).
pub(crate) fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339))
        .ok()
}

/// Parses `xs:boolean`.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// True when `n` is the element `{ns}name`.
pub(crate) fn is(n: Node<'_, '_>, ns: &str, name: &str) -> bool {
    n.is_element() && n.tag_name().name() == name && n.tag_name().namespace() == Some(ns)
}

/// The first child element `{ns}name`.
pub(crate) fn child<'a, 'i>(n: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| is(*c, ns, name))
}

/// Every child element `{ns}name`.
pub(crate) fn children<'a, 'i>(
    n: Node<'a, 'i>,
    ns: &'a str,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children().filter(move |c| is(*c, ns, name))
}

/// Every child element.
pub(crate) fn elements<'a, 'i>(n: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(Node::is_element)
}

/// The element's text content (all text children concatenated).
pub(crate) fn text(n: Node<'_, '_>) -> String {
    n.children()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect()
}

/// The text of child `{ns}name`, if present.
pub(crate) fn child_text(n: Node<'_, '_>, ns: &str, name: &str) -> Option<String> {
    child(n, ns, name).map(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escaping_drops_control_characters_and_keeps_carriage_returns() {
        let mut out = String::new();
        escape_text(&mut out, "a<b>&c\r\n\u{1}d");
        assert_eq!(out, "a&lt;b&gt;&amp;c&#xD;\nd");
    }

    #[test]
    fn datetimes_without_a_zone_are_utc() {
        let a = parse_datetime("2024-05-01T12:00:00").unwrap();
        let b = parse_datetime("2024-05-01T14:00:00+02:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(format_datetime(b), "2024-05-01T12:00:00Z");
    }
}
