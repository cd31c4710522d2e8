//! Internet-message facts the store derives: RFC 5322 headers and MIME content, Message-IDs,
//! and Outlook's conversation index (`Thread-Index`).
//!
//! Conversation index layout (MS-OXOMSG 2.2.1.3 PidTagConversationIndex): one reserved byte
//! (0x01), five bytes of FILETIME, a 16-byte GUID naming the conversation; each reply
//! appends a five-byte child block.

use super::item::Item;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

const HEADER_BLOCK: usize = 22;

/// 100-ns intervals between 1601-01-01 and 1970-01-01.
const FILETIME_UNIX_OFFSET: i128 = 116_444_736_000_000_000;

fn filetime(t: OffsetDateTime) -> u64 {
    let ticks = t.unix_timestamp_nanos() / 100 + FILETIME_UNIX_OFFSET;
    u64::try_from(ticks).unwrap_or(0)
}

/// A conversation index that starts a new conversation.
pub(crate) fn new_conversation_index(now: OffsetDateTime) -> Vec<u8> {
    let mut index = Vec::with_capacity(HEADER_BLOCK);
    index.push(0x01);
    let ft = filetime(now).to_be_bytes();
    // The top 40 of FILETIME's 56 significant bits (the first byte is always zero here).
    index.extend_from_slice(ft.get(1..6).unwrap_or(&[0; 5]));
    index.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    index
}

/// The index of a reply to a message whose index is `parent`.
pub(crate) fn child_conversation_index(parent: &[u8], now: OffsetDateTime) -> Vec<u8> {
    if parent.len() < HEADER_BLOCK {
        return new_conversation_index(now);
    }
    let mut index = parent.to_vec();
    let ft = filetime(now).to_be_bytes();
    index.extend_from_slice(ft.get(3..8).unwrap_or(&[0; 5]));
    index
}

/// The `t:ConversationId` of a conversation: derived from the index's GUID, so every
/// message of one thread shares it.
pub(crate) fn conversation_id(index: &[u8]) -> Option<String> {
    let guid = index.get(6..HEADER_BLOCK)?;
    let mut bytes = vec![0x00, 0x00, 0x00, 0x10];
    bytes.extend_from_slice(guid);
    Some(B64.encode(bytes))
}

/// A fresh Message-ID in the sender's domain.
pub(crate) fn new_message_id(sender: &str) -> String {
    let domain = sender
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
        .unwrap_or("ews-sim.invalid");
    format!("<{}@{}>", uuid::Uuid::new_v4().simple(), domain)
}

/// The conversation topic: the subject without reply/forward prefixes.
pub(crate) fn conversation_topic(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        let stripped = ["re:", "fw:", "fwd:", "aw:", "wg:"]
            .iter()
            .find(|p| lower.starts_with(**p))
            .map(|p| s.get(p.len()..).unwrap_or("").trim_start());
        match stripped {
            Some(rest) => s = rest,
            None => return s.to_owned(),
        }
    }
}

/// An RFC 2047 encoded word when `s` is not plain ASCII.
pub(crate) fn encode_word(s: &str) -> String {
    if s.chars().all(|c| (' '..='~').contains(&c)) {
        s.to_owned()
    } else {
        format!("=?utf-8?B?{}?=", B64.encode(s.as_bytes()))
    }
}

fn date_header(t: OffsetDateTime) -> String {
    t.format(&Rfc2822).unwrap_or_default()
}

/// The item's Internet headers, in the order a transport would write them.
pub(crate) fn headers(item: &Item) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = Vec::new();
    let join = |list: &[super::types::EmailAddress]| {
        list.iter()
            .map(|a| a.to_header())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(from) = item.from.as_ref().or(item.sender.as_ref()) {
        h.push(("From".into(), from.to_header()));
    }
    if !item.to.is_empty() {
        h.push(("To".into(), join(&item.to)));
    }
    if !item.cc.is_empty() {
        h.push(("CC".into(), join(&item.cc)));
    }
    if let Some(subject) = &item.subject {
        h.push(("Subject".into(), encode_word(subject)));
    }
    if let Some(topic) = &item.conversation_topic {
        h.push(("Thread-Topic".into(), encode_word(topic)));
    }
    if !item.conversation_index.is_empty() {
        h.push(("Thread-Index".into(), B64.encode(&item.conversation_index)));
    }
    h.push((
        "Date".into(),
        date_header(item.sent.or(item.received).unwrap_or(item.created)),
    ));
    if let Some(id) = &item.internet_message_id {
        h.push(("Message-ID".into(), id.clone()));
    }
    if let Some(irt) = &item.in_reply_to {
        h.push(("In-Reply-To".into(), irt.clone()));
    }
    if let Some(refs) = &item.references {
        h.push(("References".into(), refs.clone()));
    }
    h.push(("MIME-Version".into(), "1.0".into()));
    h
}

fn base64_lines(bytes: &[u8]) -> String {
    let encoded = B64.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 76 * 2 + 2);
    let mut rest = encoded.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(76));
        out.push_str(line);
        out.push_str("\r\n");
        rest = tail;
    }
    out
}

fn boundary() -> String {
    format!("_000_{}_", uuid::Uuid::new_v4().simple())
}

fn text_part(content_type: &str, text: &str) -> String {
    format!(
        "Content-Type: {content_type}; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
        base64_lines(text.as_bytes())
    )
}

fn body_part(item: &Item) -> String {
    match (&item.body.text, &item.body.html) {
        (Some(text), Some(html)) => {
            let b = boundary();
            format!(
                "Content-Type: multipart/alternative;\r\n\tboundary=\"{b}\"\r\n\r\n--{b}\r\n{}\r\n--{b}\r\n{}\r\n--{b}--\r\n",
                text_part("text/plain", text),
                text_part("text/html", html)
            )
        }
        (None, Some(html)) => text_part("text/html", html),
        (Some(text), None) => text_part("text/plain", text),
        (None, None) => text_part("text/plain", ""),
    }
}

/// The whole message as RFC 5322 / MIME (what `item:MimeContent` carries, base64-encoded).
pub(crate) fn mime_content(item: &Item) -> Vec<u8> {
    let mut out = String::new();
    for (name, value) in headers(item) {
        out.push_str(&name);
        out.push_str(": ");
        out.push_str(&value);
        out.push_str("\r\n");
    }
    if item.attachments.is_empty() {
        out.push_str(&body_part(item));
    } else {
        let b = boundary();
        out.push_str(&format!(
            "Content-Type: multipart/mixed;\r\n\tboundary=\"{b}\"\r\n\r\n--{b}\r\n{}",
            body_part(item)
        ));
        for a in &item.attachments {
            let disposition = if a.is_inline { "inline" } else { "attachment" };
            let name = encode_word(&a.name).replace('"', "'");
            out.push_str(&format!("\r\n--{b}\r\nContent-Type: {}; name=\"{name}\"\r\nContent-Disposition: {disposition}; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n", a.content_type));
            if let Some(cid) = &a.content_id {
                out.push_str(&format!(
                    "Content-ID: <{}>\r\n",
                    cid.trim_matches(['<', '>'])
                ));
            }
            out.push_str("\r\n");
            out.push_str(&base64_lines(&a.content));
        }
        out.push_str(&format!("\r\n--{b}--\r\n"));
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::types::{EmailAddress, ItemKind};

    #[test]
    fn a_reply_index_extends_its_parent_and_keeps_the_conversation_id() {
        let now = OffsetDateTime::now_utc();
        let parent = new_conversation_index(now);
        let child = child_conversation_index(&parent, now);
        assert_eq!(child.len(), parent.len() + 5);
        assert!(child.starts_with(&parent));
        assert_eq!(conversation_id(&parent), conversation_id(&child));
        assert_ne!(
            conversation_id(&parent),
            conversation_id(&new_conversation_index(now))
        );
    }

    #[test]
    fn the_topic_drops_reply_and_forward_prefixes() {
        assert_eq!(conversation_topic("RE: Fw: re: Lunch"), "Lunch");
        assert_eq!(conversation_topic("Lunch"), "Lunch");
    }

    #[test]
    fn mime_content_carries_the_threading_headers() {
        let mut item = Item::new(ItemKind::Message, OffsetDateTime::now_utc());
        item.from = Some(EmailAddress::named("Ann", "ann@contoso.test"));
        item.to = vec![EmailAddress::new("bob@contoso.test")];
        item.subject = Some("Grüße".into());
        item.internet_message_id = Some("<a@contoso.test>".into());
        item.in_reply_to = Some("<p@contoso.test>".into());
        item.references = Some("<p@contoso.test>".into());
        item.conversation_index = new_conversation_index(item.created);
        item.body.text = Some("hello".into());
        let mime = String::from_utf8(mime_content(&item)).unwrap();
        for needle in [
            "From: \"Ann\" <ann@contoso.test>\r\n",
            "To: bob@contoso.test\r\n",
            "Subject: =?utf-8?B?",
            "Message-ID: <a@contoso.test>\r\n",
            "In-Reply-To: <p@contoso.test>\r\n",
            "References: <p@contoso.test>\r\n",
            "Thread-Index: ",
            "Date: ",
        ] {
            assert!(mime.contains(needle), "{needle} missing in {mime}");
        }
    }
}
