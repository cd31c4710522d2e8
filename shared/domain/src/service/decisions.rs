//! The decision log of a mailbox: what the sync worker did with each item it evaluated, and
//! why ([`crate::sync::decisions`]).

use super::{Admin, PageRequest};
use crate::error::DomainError;
use crate::ids::MailboxId;
use crate::ports::Page;
use crate::privilege::{Grants, Privilege};
use crate::sync::decisions::DecisionEntry;

impl Admin {
    /// A mailbox's decision log, newest first (read_mailboxes, or the mailbox's owner: a
    /// user may ask why their own email was not tracked).
    pub async fn list_decisions(
        &self,
        grants: &Grants,
        id: &MailboxId,
        page: &PageRequest,
    ) -> Result<Page<DecisionEntry>, DomainError> {
        self.visible_mailbox(grants, id, Privilege::ReadMailboxes)
            .await?;
        self.ports
            .ops
            .decisions_of_mailbox(id, page.limit()?, page.next.clone())
            .await
    }
}
