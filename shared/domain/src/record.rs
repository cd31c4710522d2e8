//! Email-enabled records: what tracked email is resolved against.

use crate::ids::{EmailAddress, Principal, RecordId};
use serde::{Deserialize, Serialize};

/// The kinds of email-enabled records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// An exsync user.
    User,
    /// A queue.
    Queue,
    /// A contact.
    Contact,
    /// An account (organisation).
    Account,
    /// A lead.
    Lead,
}

/// An email-enabled record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailEnabledRecord {
    /// Id.
    pub id: RecordId,
    /// Kind.
    pub kind: RecordKind,
    /// Name.
    pub name: String,
    /// Its addresses (at least one).
    pub addresses: Vec<EmailAddress>,
    /// For users: the principal, so email between tracked users can be recognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
}
