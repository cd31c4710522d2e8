//! Email correlation: which earlier activity an incoming email continues.
//!
//! The steps run in Dynamics 365's order, each only when the org settings allow it, and the
//! first that finds an activity wins:
//!
//! 1. `In-Reply-To` against the Internet Message-IDs of tracked email;
//! 2. the tracking token in the subject (`CRM:0001234`), when the org uses tokens;
//! 3. the Conversation-Index (Outlook's `Thread-Index`): the same conversation as a tracked
//!    email;
//! 4. smart matching (the same normalised subject and at least one address in common), only
//!    when the org turns it on.
//!
//! Steps 2–4 read pointers the store keeps ([`CorrelationKeys`]), written when an activity
//! is tracked (and, for tokens, when an email is sent with one).
//!
//! References: [Email correlation in Dynamics 365](https://learn.microsoft.com/en-us/power-platform/admin/system-settings-dialog-box-email-tab),
//! [PidTagConversationIndex](https://learn.microsoft.com/en-us/office/client-developer/outlook/mapi/pidtagconversationindex-canonical-property).

use exsync_ews::types::Binary;
use serde::{Deserialize, Serialize};

use crate::activity::{CorrelationMethod, EmailActivity};
use crate::error::DomainError;
use crate::org::{OrgSettings, TrackingToken};
use crate::ports::{MailFlowStore, SyncStore};

/// Bytes of a conversation index's header (reserved byte, FILETIME, GUID): every message of
/// one conversation starts with the same header; replies append five-byte blocks.
pub const CONVERSATION_HEADER_BYTES: usize = 22;

/// The pointers that let later email find an activity by token, conversation or subject.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrelationKeys {
    /// The tracking token in its subject (`CRM:0001234`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_token: Option<String>,
    /// Its conversation ([`conversation_thread`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<String>,
    /// Its normalised subject ([`normalise_subject`]), for smart matching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Its parties' addresses (lower case), which smart matching compares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
}

impl CorrelationKeys {
    /// The keys of a tracked or sent email.
    pub fn of(email: &EmailActivity, settings: &OrgSettings) -> Self {
        let token = email.tracking_token.clone().or_else(|| {
            settings
                .use_tracking_token
                .then(|| find_tracking_token(&email.subject, &settings.tracking_token))
                .flatten()
        });
        let subject = normalise_subject(&email.subject, settings);
        CorrelationKeys {
            tracking_token: token,
            conversation: email
                .conversation_index
                .as_deref()
                .and_then(conversation_thread),
            subject: (!subject.is_empty()).then_some(subject),
            addresses: party_addresses(email),
        }
    }

    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.tracking_token.is_none() && self.conversation.is_none() && self.subject.is_none()
    }
}

/// Every address of an email's parties, lower case, once each.
pub fn party_addresses(email: &EmailActivity) -> Vec<String> {
    let mut out: Vec<String> = email
        .from
        .iter()
        .chain(&email.to)
        .chain(&email.cc)
        .map(|p| p.address.as_str().to_owned())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The tracking token in `subject`, if there is one in the org's format: the prefix
/// (compared without regard to case) followed by exactly `digits` digits and no further
/// digit. Returned as the org spells it (`CRM:0001234`).
pub fn find_tracking_token(subject: &str, format: &TrackingToken) -> Option<String> {
    let prefix = format.prefix.trim();
    if prefix.is_empty() || format.digits == 0 {
        return None;
    }
    let digits = usize::from(format.digits);
    let lower = subject.to_lowercase();
    let wanted = prefix.to_lowercase();
    // Lower-casing can change byte lengths outside ASCII; search the lowered text and read
    // digits from it too, so offsets stay in one string.
    let mut from = 0;
    while let Some(pos) = lower.get(from..).and_then(|s| s.find(&wanted)) {
        let start = from + pos + wanted.len();
        let rest = lower.get(start..).unwrap_or("");
        let run: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if run.len() == digits {
            return Some(format!("{prefix}{run}"));
        }
        from = start;
    }
    None
}

/// The conversation an index belongs to: its header ([`CONVERSATION_HEADER_BYTES`]) as hex.
/// `None` for an index that is not base64 or too short to hold a header.
pub fn conversation_thread(index_base64: &str) -> Option<String> {
    let bytes = Binary::from_base64(index_base64.trim())?;
    let header = bytes.as_bytes().get(..CONVERSATION_HEADER_BYTES)?;
    Some(header.iter().map(|b| format!("{b:02x}")).collect())
}

/// A subject as smart matching compares it: reply and forward prefixes (`RE:`, `FW:`,
/// `FWD:`, `AW:`, `WG:`, `SV:`, `VS:`) and the tracking token removed, spaces collapsed,
/// lower case.
pub fn normalise_subject(subject: &str, settings: &OrgSettings) -> String {
    let mut s = subject.to_owned();
    if let Some(token) = find_tracking_token(&s, &settings.tracking_token) {
        let lower = s.to_lowercase();
        if let Some(pos) = lower.find(&token.to_lowercase())
            && lower.len() == s.len()
        {
            s.replace_range(pos..pos + token.len(), " ");
        }
    }
    let mut rest = s.trim();
    loop {
        let lower = rest.to_ascii_lowercase();
        let stripped = ["re:", "fw:", "fwd:", "aw:", "wg:", "sv:", "vs:"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| p.len());
        match stripped {
            Some(n) => rest = rest.get(n..).unwrap_or("").trim_start(),
            None => break,
        }
    }
    rest.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// What an incoming email offers correlation.
#[derive(Debug, Clone, Default)]
pub struct CorrelationInput<'a> {
    /// Its `In-Reply-To`.
    pub in_reply_to: Option<&'a str>,
    /// Its subject.
    pub subject: &'a str,
    /// Its conversation index (base64).
    pub conversation_index: Option<&'a str>,
    /// Its parties' addresses, lower case.
    pub addresses: &'a [String],
}

/// The activity an email continues, and how it was found.
#[derive(Debug, Clone)]
pub struct Correlation {
    /// How.
    pub method: CorrelationMethod,
    /// The earlier activity.
    pub parent: EmailActivity,
}

/// Runs the correlation steps; `None` when nothing correlates (or the org turned
/// correlation off).
pub async fn correlate(
    input: &CorrelationInput<'_>,
    settings: &OrgSettings,
    mail: &dyn MailFlowStore,
    sync: &dyn SyncStore,
) -> Result<Option<Correlation>, DomainError> {
    if !settings.correlation_enabled {
        return Ok(None);
    }
    let found =
        |method, parent: Option<EmailActivity>| parent.map(|parent| Correlation { method, parent });
    if let Some(irt) = input.in_reply_to.map(str::trim).filter(|s| !s.is_empty())
        && let Some(c) = found(
            CorrelationMethod::InReplyTo,
            mail.email_by_message_id(irt).await?,
        )
    {
        return Ok(Some(c));
    }
    if settings.use_tracking_token
        && let Some(token) = find_tracking_token(input.subject, &settings.tracking_token)
        && let Some(c) = found(
            CorrelationMethod::TrackingToken,
            sync.email_by_tracking_token(&token).await?,
        )
    {
        return Ok(Some(c));
    }
    if let Some(thread) = input.conversation_index.and_then(conversation_thread)
        && let Some(c) = found(
            CorrelationMethod::ConversationIndex,
            sync.email_by_conversation(&thread).await?,
        )
    {
        return Ok(Some(c));
    }
    if settings.smart_matching {
        let subject = normalise_subject(input.subject, settings);
        if !subject.is_empty()
            && let Some(candidate) = sync.email_by_subject(&subject).await?
        {
            let theirs = party_addresses(&candidate);
            if input.addresses.iter().any(|a| theirs.contains(a)) {
                return Ok(Some(Correlation {
                    method: CorrelationMethod::SmartMatching,
                    parent: candidate,
                }));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crm() -> TrackingToken {
        TrackingToken::default()
    }

    #[test]
    fn a_token_with_the_configured_digits_is_found() {
        assert_eq!(
            find_tracking_token("RE: Your order CRM:0001234 shipped", &crm()).as_deref(),
            Some("CRM:0001234")
        );
    }

    #[test]
    fn the_prefix_is_matched_without_regard_to_case() {
        assert_eq!(
            find_tracking_token("re: crm:0000042", &crm()).as_deref(),
            Some("CRM:0000042")
        );
    }

    #[test]
    fn a_number_of_another_length_is_not_a_token() {
        assert_eq!(
            find_tracking_token("CRM:12345 and CRM:123456789", &crm()),
            None
        );
    }

    #[test]
    fn a_later_well_formed_token_is_found_after_a_malformed_one() {
        assert_eq!(
            find_tracking_token("CRM:12 then CRM:7654321", &crm()).as_deref(),
            Some("CRM:7654321")
        );
    }

    #[test]
    fn replies_of_one_conversation_share_its_thread() {
        let mut root = vec![0x01u8];
        root.extend_from_slice(&[1, 2, 3, 4, 5]);
        root.extend_from_slice(&[9u8; 16]);
        let mut reply = root.clone();
        reply.extend_from_slice(&[7, 7, 7, 7, 7]);
        let a = conversation_thread(&Binary(root).to_base64()).unwrap();
        let b = conversation_thread(&Binary(reply).to_base64()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), CONVERSATION_HEADER_BYTES * 2);
    }

    #[test]
    fn a_short_or_garbled_index_has_no_thread() {
        assert_eq!(
            conversation_thread(&Binary(vec![1, 2, 3]).to_base64()),
            None
        );
        assert_eq!(conversation_thread("not base64 !!"), None);
    }

    #[test]
    fn subjects_lose_reply_prefixes_tokens_and_case() {
        let s = OrgSettings::default();
        assert_eq!(
            normalise_subject("RE: Fwd:  Quote  for Contoso CRM:0001234", &s),
            "quote for contoso"
        );
        assert_eq!(
            normalise_subject("Quote for Contoso", &s),
            "quote for contoso"
        );
    }
}
