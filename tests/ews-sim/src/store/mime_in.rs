//! Reading an RFC 5322 / MIME message, for CreateItem with `t:MimeContent` (Exchange builds
//! the item's properties from the MIME, then applies the other elements on top).
//!
//! Deliberately small: headers (unfolded, RFC 2047 words decoded), address lists, single
//! and multipart bodies (base64, quoted-printable, 7/8bit; UTF-8, Latin-1), the first text
//! and HTML parts, everything else as a file attachment. Never panics on any input; nesting
//! is bounded.

use super::types::{EmailAddress, NewAttachment};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// Deepest multipart nesting followed; deeper parts are ignored.
const MAX_DEPTH: usize = 8;

/// What a MIME message says about itself.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ParsedMessage {
    pub subject: Option<String>,
    pub from: Option<EmailAddress>,
    pub sender: Option<EmailAddress>,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub bcc: Vec<EmailAddress>,
    pub reply_to: Vec<EmailAddress>,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Option<String>,
    pub thread_index: Option<Vec<u8>>,
    pub thread_topic: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Vec<NewAttachment>,
}

type Headers = Vec<(String, String)>;

fn split_head(bytes: &[u8]) -> (&[u8], &[u8]) {
    for (sep, len) in [(&b"\r\n\r\n"[..], 4), (&b"\n\n"[..], 2)] {
        if let Some(pos) = bytes.windows(len).position(|w| w == sep) {
            let head = bytes.get(..pos).unwrap_or_default();
            let body = bytes.get(pos + len..).unwrap_or_default();
            return (head, body);
        }
    }
    (bytes, &[])
}

fn parse_headers(head: &[u8]) -> Headers {
    let text = String::from_utf8_lossy(head);
    let mut out: Headers = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    out
}

fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn decode_charset(bytes: &[u8], charset: &str) -> String {
    let cs = charset.trim().trim_matches('"').to_ascii_lowercase();
    if matches!(
        cs.as_str(),
        "iso-8859-1" | "latin1" | "windows-1252" | "us-ascii" | "ascii"
    ) && std::str::from_utf8(bytes).is_err()
    {
        bytes.iter().map(|&b| char::from(b)).collect()
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

fn quoted_printable(input: &[u8], in_header: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'=' => {
                let hex = input
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(v) = hex {
                    out.push(v);
                    i += 3;
                } else if input.get(i + 1..i + 3) == Some(b"\r\n") {
                    i += 3;
                } else if input.get(i + 1) == Some(&b'\n') {
                    i += 2;
                } else {
                    out.push(b);
                    i += 1;
                }
            }
            b'_' if in_header => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn decode_base64_loose(input: &[u8]) -> Option<Vec<u8>> {
    let compact: Vec<u8> = input
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    B64.decode(compact).ok()
}

/// Decodes RFC 2047 encoded words (`=?utf-8?B?…?=`, `=?iso-8859-1?Q?…?=`) in a header value.
pub(crate) fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, after) = rest.split_at(start);
        let word = after.get(2..).and_then(|w| {
            let (charset, w) = w.split_once('?')?;
            let (encoding, w) = w.split_once('?')?;
            let (text, tail) = w.split_once("?=")?;
            let bytes = match encoding.to_ascii_uppercase().as_str() {
                "B" => decode_base64_loose(text.as_bytes())?,
                "Q" => quoted_printable(text.as_bytes(), true),
                _ => return None,
            };
            Some((decode_charset(&bytes, charset), tail))
        });
        match word {
            Some((decoded, tail)) => {
                // Whitespace between adjacent encoded words is not part of the text.
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&decoded);
                rest = tail;
                last_was_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = after.get(2..).unwrap_or_default();
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Splits an address list on commas outside quotes, comments and angle brackets.
pub(crate) fn parse_addresses(value: &str) -> Vec<EmailAddress> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut angle, mut comment) = (false, false, 0usize);
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' if comment == 0 => quoted = !quoted,
            '<' if !quoted && comment == 0 => angle = true,
            '>' if !quoted && comment == 0 => angle = false,
            '(' if !quoted => comment += 1,
            ')' if !quoted => comment = comment.saturating_sub(1),
            ',' | ';' if !quoted && !angle && comment == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
        .into_iter()
        .filter_map(|p| {
            let p = p.trim();
            if p.is_empty() {
                return None;
            }
            match (p.rfind('<'), p.rfind('>')) {
                (Some(open), Some(close)) if open < close => {
                    let address = p.get(open + 1..close)?.trim().to_owned();
                    let name = p
                        .get(..open)
                        .unwrap_or_default()
                        .trim()
                        .trim_matches('"')
                        .replace("\\\"", "\"")
                        .replace("\\\\", "\\");
                    let name = decode_words(&name);
                    (!address.is_empty()).then(|| EmailAddress {
                        name: (!name.is_empty()).then_some(name),
                        address,
                    })
                }
                _ => {
                    let address = p.split('(').next().unwrap_or(p).trim().to_owned();
                    (!address.is_empty()).then(|| EmailAddress::new(address))
                }
            }
        })
        .collect()
}

/// `(value, params)` of a structured header (`text/plain; charset="utf-8"`).
fn structured(value: &str) -> (String, Vec<(String, String)>) {
    let mut pieces = value.split(';');
    let main = pieces
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let params = pieces
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((
                k.trim().to_ascii_lowercase(),
                decode_words(v.trim().trim_matches('"')),
            ))
        })
        .collect();
    (main, params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn decode_body(headers: &Headers, body: &[u8]) -> Vec<u8> {
    match header(headers, "Content-Transfer-Encoding")
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("base64") => decode_base64_loose(body).unwrap_or_default(),
        Some("quoted-printable") => quoted_printable(body, false),
        _ => body.to_vec(),
    }
}

fn split_multipart<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    let d = delimiter.as_bytes();
    let mut starts = Vec::new();
    let mut i = 0;
    while i + d.len() <= body.len() {
        let at_line_start = i == 0 || body.get(i - 1) == Some(&b'\n');
        if at_line_start && body.get(i..i + d.len()) == Some(d) {
            starts.push(i);
            i += d.len();
        } else {
            i += 1;
        }
    }
    let mut parts = Vec::new();
    for pair in starts.windows(2) {
        let (Some(&s), Some(&e)) = (pair.first(), pair.get(1)) else {
            continue;
        };
        let part = body.get(s + d.len()..e).unwrap_or_default();
        // Skip the rest of the delimiter line, and the line break before the next one.
        let part = match part.iter().position(|&b| b == b'\n') {
            Some(nl) => part.get(nl + 1..).unwrap_or_default(),
            None => &[],
        };
        let part = part
            .strip_suffix(b"\r\n")
            .or_else(|| part.strip_suffix(b"\n"))
            .unwrap_or(part);
        parts.push(part);
    }
    parts
}

fn walk(headers: &Headers, body: &[u8], depth: usize, out: &mut ParsedMessage) {
    let (content_type, params) =
        structured(header(headers, "Content-Type").unwrap_or("text/plain"));
    let (disposition, disposition_params) =
        structured(header(headers, "Content-Disposition").unwrap_or(""));
    if content_type.starts_with("multipart/") {
        if depth >= MAX_DEPTH {
            return;
        }
        if let Some(boundary) = param(&params, "boundary") {
            for part in split_multipart(body, boundary) {
                let (head, part_body) = split_head(part);
                walk(&parse_headers(head), part_body, depth + 1, out);
            }
        }
        return;
    }
    let decoded = decode_body(headers, body);
    let charset = param(&params, "charset").unwrap_or("utf-8");
    let is_attachment = disposition == "attachment";
    match content_type.as_str() {
        "text/plain" if !is_attachment && out.text.is_none() => {
            out.text = Some(decode_charset(&decoded, charset));
        }
        "text/html" if !is_attachment && out.html.is_none() => {
            out.html = Some(decode_charset(&decoded, charset));
        }
        _ => {
            let name = param(&disposition_params, "filename")
                .or_else(|| param(&params, "name"))
                .unwrap_or("attachment")
                .to_owned();
            out.attachments.push(NewAttachment {
                name,
                content_type: content_type.clone(),
                content_id: header(headers, "Content-ID")
                    .map(|c| c.trim().trim_matches(['<', '>']).to_owned()),
                is_inline: disposition == "inline",
                content: decoded,
            });
        }
    }
}

/// Reads a whole message.
pub(crate) fn parse_message(bytes: &[u8]) -> ParsedMessage {
    let (head, body) = split_head(bytes);
    let headers = parse_headers(head);
    let one = |name: &str| header(&headers, name).map(decode_words);
    let list = |name: &str| {
        header(&headers, name)
            .map(parse_addresses)
            .unwrap_or_default()
    };
    let mut out = ParsedMessage {
        subject: one("Subject"),
        from: list("From").into_iter().next(),
        sender: list("Sender").into_iter().next(),
        to: list("To"),
        cc: list("Cc"),
        bcc: list("Bcc"),
        reply_to: list("Reply-To"),
        message_id: one("Message-ID"),
        in_reply_to: one("In-Reply-To"),
        references: one("References"),
        thread_index: header(&headers, "Thread-Index")
            .and_then(|v| decode_base64_loose(v.as_bytes())),
        thread_topic: one("Thread-Topic"),
        ..ParsedMessage::default()
    };
    walk(&headers, body, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_addresses_and_a_plain_body_are_read() {
        let m = parse_message(
            b"From: \"Ann, Sales\" <ann@fabrikam.test>\r\nTo: bob@contoso.test, Carol <carol@contoso.test>\r\nSubject: =?utf-8?B?R3LDvMOfZQ==?= now\r\nMessage-ID: <1@fabrikam.test>\r\nIn-Reply-To: <0@fabrikam.test>\r\n\r\nHello\r\n",
        );
        assert_eq!(m.subject.as_deref(), Some("Grüße now"));
        assert_eq!(
            m.from,
            Some(EmailAddress::named("Ann, Sales", "ann@fabrikam.test"))
        );
        assert_eq!(
            m.to,
            vec![
                EmailAddress::new("bob@contoso.test"),
                EmailAddress::named("Carol", "carol@contoso.test")
            ]
        );
        assert_eq!(m.message_id.as_deref(), Some("<1@fabrikam.test>"));
        assert_eq!(m.in_reply_to.as_deref(), Some("<0@fabrikam.test>"));
        assert_eq!(m.text.as_deref(), Some("Hello\r\n"));
    }

    #[test]
    fn multipart_bodies_and_attachments_are_separated() {
        let m = parse_message(
            b"Subject: x\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n--b2\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHi =C3=BC\r\n--b2\r\nContent-Type: text/html\r\n\r\n<p>Hi</p>\r\n--b2--\r\n--b1\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b1--\r\n",
        );
        assert_eq!(m.text.as_deref(), Some("Hi ü"));
        assert_eq!(m.html.as_deref(), Some("<p>Hi</p>"));
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].name, "a.pdf");
        assert_eq!(m.attachments[0].content, b"%PDF-");
    }

    #[test]
    fn garbage_never_panics() {
        for input in [
            &b""[..],
            b"\r\n\r\n",
            b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x",
            b"Subject: =?utf-8?B?",
            b"Subject: =?x?Q?=ZZ?=\r\n\r\n=",
            b"To: <<<,,>>\"\r\n\r\n",
        ] {
            let _ = parse_message(input);
        }
    }
}
