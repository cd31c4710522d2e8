//! DeleteItem: delete items.

use super::{batch, write_item_ids};
use crate::Operation;
use crate::error::EwsError;
use crate::operation::expect_count;
use crate::operations::SendMeetingInvitations;
use crate::types::{ItemId, ews_enum};
use crate::xml::{Element, XmlWriter};

ews_enum! {
    /// How an item is deleted.
    ///
    /// Reference: [DeleteItem](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/deleteitem).
    closed DeleteType {
        /// Gone for good.
        HardDelete = "HardDelete",
        /// Into the dumpster (recoverable).
        SoftDelete = "SoftDelete",
        /// Into Deleted Items.
        MoveToDeletedItems = "MoveToDeletedItems",
    }
}

ews_enum! {
    /// Which occurrences of a recurring task a delete affects.
    ///
    /// Reference: [DeleteItem](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/deleteitem).
    closed AffectedTaskOccurrences {
        /// The whole series.
        AllOccurrences = "AllOccurrences",
        /// Only the current occurrence.
        SpecifiedOccurrenceOnly = "SpecifiedOccurrenceOnly",
    }
}

/// Deletes items; one result per id, in request order.
///
/// Exchange requires `send_meeting_cancellations` when a calendar item is among them and
/// `affected_task_occurrences` when a task is.
///
/// Reference: [DeleteItem operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/deleteitem-operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteItem {
    /// How.
    pub delete_type: DeleteType,
    /// For calendar items: who hears about the cancellation.
    pub send_meeting_cancellations: Option<SendMeetingInvitations>,
    /// For tasks: which occurrences.
    pub affected_task_occurrences: Option<AffectedTaskOccurrences>,
    /// The items (at least one).
    pub item_ids: Vec<ItemId>,
}

impl Operation for DeleteItem {
    const NAME: &'static str = "DeleteItem";
    type Response = Vec<Result<(), EwsError>>;

    fn write_body(&self, w: &mut XmlWriter) {
        let mut attrs: Vec<(&str, &str)> = Vec::with_capacity(3);
        attrs.push(("DeleteType", self.delete_type.as_str()));
        if let Some(s) = self.send_meeting_cancellations {
            attrs.push(("SendMeetingCancellations", s.as_str()));
        }
        if let Some(a) = self.affected_task_occurrences {
            attrs.push(("AffectedTaskOccurrences", a.as_str()));
        }
        w.start("m:DeleteItem", &attrs);
        write_item_ids(w, "m:ItemIds", &self.item_ids);
        w.end("m:DeleteItem");
    }

    fn parse_response(body: &Element) -> Result<Self::Response, EwsError> {
        batch(body, Self::NAME, |_: &Element| Ok(()))
    }

    fn check_response(&self, response: &Self::Response) -> Result<(), EwsError> {
        expect_count(self.item_ids.len(), response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::test_support::body;

    #[test]
    fn request_carries_the_calendar_and_task_options() {
        let op = DeleteItem {
            delete_type: DeleteType::MoveToDeletedItems,
            send_meeting_cancellations: Some(SendMeetingInvitations::SendToNone),
            affected_task_occurrences: Some(AffectedTaskOccurrences::AllOccurrences),
            item_ids: vec![ItemId::new("A")],
        };
        assert_eq!(
            body(&op),
            concat!(
                r#"<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations="SendToNone" AffectedTaskOccurrences="AllOccurrences">"#,
                r#"<m:ItemIds><t:ItemId Id="A"/></m:ItemIds></m:DeleteItem>"#
            )
        );
    }
}
