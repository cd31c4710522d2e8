//! The decision log: one entry for every item the sync worker evaluated, saying what it did
//! with it and why ("tracked via In-Reply-To as …", "skipped: received before Process Email
//! From", "failed: ErrorItemCorrupt").
//!
//! Admins read it through the admin API (`GET /mailboxes/{id}/decisions`) when a user asks
//! "why was this email not tracked?". Entries expire after [`DECISION_RETENTION_DAYS`]. An
//! entry names the message (Internet Message-ID, sender address, received time) but never
//! holds its subject or body.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::activity::CorrelationMethod;
use crate::ids::{ActivityId, MailboxId};
use crate::mailbox::Workload;
use crate::org::ActEntity;
use crate::sync::act::ActSide;

/// How long decision log entries are kept.
pub const DECISION_RETENTION_DAYS: i64 = 30;

/// Why an item was not tracked, although nothing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// It arrived before the later of the mailbox's and the profile's Process Email From.
    ReceivedBeforeProcessEmailFrom,
    /// The mailbox's tracking option is "none".
    TrackingOff,
    /// The option is "replies to tracked email" and nothing correlated it.
    NotAReplyToTrackedEmail,
    /// The option is "from known contacts, accounts and leads" and the sender is none.
    SenderNotKnownContact,
    /// The option is "from any email-enabled record" and the sender is none.
    SenderNotEmailEnabledRecord,
    /// Not an email message (a meeting request, a report…): incoming tracking is for email.
    NotAnEmail,
}

impl SkipReason {
    /// The reason as the log shows it.
    pub fn text(self) -> &'static str {
        match self {
            SkipReason::ReceivedBeforeProcessEmailFrom => "received before Process Email From",
            SkipReason::TrackingOff => "the mailbox tracks no incoming email",
            SkipReason::NotAReplyToTrackedEmail => "not a reply to tracked email",
            SkipReason::SenderNotKnownContact => "sender is not a known contact",
            SkipReason::SenderNotEmailEnabledRecord => "sender is not an email-enabled record",
            SkipReason::NotAnEmail => "not an email message",
        }
    }
}

/// What was done with one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// A new email activity was created for it.
    Tracked {
        /// The new activity.
        activity_id: ActivityId,
        /// How it was correlated to an earlier activity.
        correlation: CorrelationMethod,
    },
    /// The message was already tracked (by another mailbox, or an earlier poll).
    AlreadyTracked {
        /// The existing activity.
        activity_id: ActivityId,
        /// This mailbox was added to its receiving mailboxes.
        added_mailbox: bool,
    },
    /// Not tracked, by the rules.
    Skipped {
        /// Why.
        reason: SkipReason,
    },
    /// Tracking failed for this item alone.
    Failed {
        /// The EWS response code or exsync's condition (`MissingInternetMessageId`…).
        code: String,
        /// The item was moved to the mailbox's "Undeliverable" folder.
        #[serde(default)]
        moved_to_undeliverable: bool,
    },
    /// An appointment, contact or task was created or updated on one side from the other.
    ActSynced {
        /// Which kind.
        entity: ActEntity,
        /// The exsync record.
        record_id: ActivityId,
        /// The side that was written.
        to: ActSide,
        /// It was created there (else updated).
        created: bool,
        /// The fields written.
        fields: Vec<String>,
    },
    /// A field changed on both sides since the last sync: the newer change won.
    ActConflict {
        /// Which kind.
        entity: ActEntity,
        /// The exsync record.
        record_id: ActivityId,
        /// The field.
        field: String,
        /// The side whose change was kept.
        winner: ActSide,
    },
    /// One side deleted a synced item: the link is gone; the other side's copy stays
    /// unless the org propagates deletes.
    ActUnlinked {
        /// Which kind.
        entity: ActEntity,
        /// The exsync record.
        record_id: ActivityId,
        /// Where it was deleted.
        deleted_on: ActSide,
        /// The other side's copy was deleted too.
        propagated: bool,
    },
    /// An outgoing email was sent, or found already sent in Sent Items (an earlier
    /// attempt's send went through) and marked Sent without sending again.
    Sent {
        /// The email activity.
        activity_id: ActivityId,
        /// Found in Sent Items by its activity id: not sent again.
        already_in_sent_items: bool,
    },
}

impl Decision {
    /// The decision in one line, as admins read it.
    pub fn text(&self) -> String {
        match self {
            Decision::Tracked {
                activity_id,
                correlation,
            } => match correlation_label(*correlation) {
                Some(via) => format!("tracked via {via} as {activity_id}"),
                None => format!("tracked as {activity_id}"),
            },
            Decision::AlreadyTracked {
                activity_id,
                added_mailbox: true,
            } => format!("already tracked as {activity_id}; this mailbox added as a recipient"),
            Decision::AlreadyTracked {
                activity_id,
                added_mailbox: false,
            } => format!("already tracked as {activity_id}"),
            Decision::Skipped { reason } => format!("skipped: {}", reason.text()),
            Decision::ActSynced {
                entity,
                record_id,
                to,
                created,
                fields,
            } => {
                let verb = if *created { "created" } else { "updated" };
                format!(
                    "{} {record_id} {verb} in {} ({})",
                    entity_label(*entity),
                    to.label(),
                    fields.join(", ")
                )
            }
            Decision::ActConflict {
                entity,
                record_id,
                field,
                winner,
            } => format!(
                "conflict on {} {record_id} field {field}: changed on both sides, the newer change in {} won",
                entity_label(*entity),
                winner.label()
            ),
            Decision::ActUnlinked {
                entity,
                record_id,
                deleted_on,
                propagated,
            } => {
                let other = if *propagated {
                    "deleted on the other side too"
                } else {
                    "the other side's copy kept"
                };
                format!(
                    "{} {record_id} deleted in {}: unlinked, {other}",
                    entity_label(*entity),
                    deleted_on.label()
                )
            }
            Decision::Sent {
                activity_id,
                already_in_sent_items: false,
            } => format!("sent as {activity_id}"),
            Decision::Sent {
                activity_id,
                already_in_sent_items: true,
            } => format!("already in Sent Items: marked Sent as {activity_id}"),
            Decision::Failed {
                code,
                moved_to_undeliverable,
            } => {
                if *moved_to_undeliverable {
                    format!("failed: {code}; moved to Undeliverable")
                } else {
                    format!("failed: {code}")
                }
            }
        }
    }

    /// True for a failed item (counted in the workload's `items_failed`).
    pub fn is_failure(&self) -> bool {
        matches!(self, Decision::Failed { .. })
    }
}

/// How an appointment/contact/task kind reads in the log.
fn entity_label(entity: ActEntity) -> &'static str {
    match entity {
        ActEntity::Appointment => "appointment",
        ActEntity::Contact => "contact",
        ActEntity::Task => "task",
    }
}

/// How a correlation method reads in the log; `None` for no correlation.
pub fn correlation_label(method: CorrelationMethod) -> Option<&'static str> {
    match method {
        CorrelationMethod::None => None,
        CorrelationMethod::InReplyTo => Some("In-Reply-To"),
        CorrelationMethod::TrackingToken => Some("tracking token"),
        CorrelationMethod::ConversationIndex => Some("Conversation-Index"),
        CorrelationMethod::SmartMatching => Some("smart matching"),
    }
}

/// One entry of a mailbox's decision log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionEntry {
    /// The mailbox whose sync evaluated the item.
    pub mailbox_id: MailboxId,
    /// When it was evaluated.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Its position among the entries written at the same instant (keeps keys unique).
    pub seq: u32,
    /// The workload that evaluated it.
    pub workload: Workload,
    /// The item's EWS id in the mailbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    /// The message's Internet Message-ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internet_message_id: Option<String>,
    /// The sender's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// When the message arrived.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub received_at: Option<OffsetDateTime>,
    /// What was done.
    pub outcome: Decision,
    /// [`Decision::text`], stored so the log reads the same after the wording changes.
    pub text: String,
    /// When the entry expires (`at` + [`DECISION_RETENTION_DAYS`]).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// What an entry says about its item, besides the decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemFacts {
    /// The EWS item id.
    pub item_id: Option<String>,
    /// The Internet Message-ID.
    pub internet_message_id: Option<String>,
    /// The sender's address.
    pub from: Option<String>,
    /// When it arrived.
    pub received_at: Option<OffsetDateTime>,
}

impl DecisionEntry {
    /// An entry for `outcome` about the item `facts` describes, evaluated at `at`.
    pub fn new(
        mailbox_id: MailboxId,
        workload: Workload,
        at: OffsetDateTime,
        seq: u32,
        facts: ItemFacts,
        outcome: Decision,
    ) -> Self {
        DecisionEntry {
            mailbox_id,
            at,
            seq,
            workload,
            item_id: facts.item_id,
            internet_message_id: facts.internet_message_id,
            from: facts.from,
            received_at: facts.received_at,
            text: outcome.text(),
            outcome,
            expires_at: at + time::Duration::days(DECISION_RETENTION_DAYS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> ActivityId {
        ActivityId::parse("a-1").unwrap()
    }

    #[test]
    fn a_correlated_email_says_how_it_was_correlated() {
        let d = Decision::Tracked {
            activity_id: id(),
            correlation: CorrelationMethod::InReplyTo,
        };
        assert_eq!(d.text(), "tracked via In-Reply-To as a-1");
    }

    #[test]
    fn an_uncorrelated_email_is_just_tracked() {
        let d = Decision::Tracked {
            activity_id: id(),
            correlation: CorrelationMethod::None,
        };
        assert_eq!(d.text(), "tracked as a-1");
    }

    #[test]
    fn a_skip_names_its_reason() {
        let d = Decision::Skipped {
            reason: SkipReason::ReceivedBeforeProcessEmailFrom,
        };
        assert_eq!(d.text(), "skipped: received before Process Email From");
        let d = Decision::Skipped {
            reason: SkipReason::SenderNotKnownContact,
        };
        assert_eq!(d.text(), "skipped: sender is not a known contact");
    }

    #[test]
    fn a_failure_names_its_code() {
        let d = Decision::Failed {
            code: "ErrorItemCorrupt".into(),
            moved_to_undeliverable: false,
        };
        assert_eq!(d.text(), "failed: ErrorItemCorrupt");
        assert!(d.is_failure());
    }

    #[test]
    fn entries_expire_after_the_retention() {
        let at = time::macros::datetime!(2026-03-01 12:00 UTC);
        let e = DecisionEntry::new(
            MailboxId::parse("m").unwrap(),
            Workload::Incoming,
            at,
            0,
            ItemFacts::default(),
            Decision::Skipped {
                reason: SkipReason::TrackingOff,
            },
        );
        assert_eq!(e.expires_at, time::macros::datetime!(2026-03-31 12:00 UTC));
        assert_eq!(e.text, "skipped: the mailbox tracks no incoming email");
    }
}
