//! CreateItem: create (and send) messages, calendar items, contacts and tasks.

use super::{batch, first_item_id};
use crate::Operation;
use crate::error::EwsError;
use crate::operation::expect_count;
use crate::types::{BaseFolderId, CalendarItem, ItemId, Message, NewItem, ews_enum};
use crate::xml::{Element, XmlWriter};

ews_enum! {
    /// What happens to a created message.
    ///
    /// Reference: [CreateItem](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createitem).
    closed MessageDisposition {
        /// Save it (in `SavedItemFolderId`, else Drafts); the answer carries its id.
        SaveOnly = "SaveOnly",
        /// Send it and keep no copy; the answer carries no id.
        SendOnly = "SendOnly",
        /// Send it and save a copy (in `SavedItemFolderId`, else Sent Items).
        SendAndSaveCopy = "SendAndSaveCopy",
    }
}

ews_enum! {
    /// Whether attendees hear about a created (or deleted) meeting.
    ///
    /// Reference: [CreateItem](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createitem).
    closed SendMeetingInvitations {
        /// Tell no one (an appointment, or a silent change).
        SendToNone = "SendToNone",
        /// Tell every attendee, keep no copy.
        SendOnlyToAll = "SendOnlyToAll",
        /// Tell every attendee and keep a copy in Sent Items.
        SendToAllAndSaveCopy = "SendToAllAndSaveCopy",
    }
}

/// Creates items; one result per item, in request order, holding the new item's id (or
/// `None` when nothing was kept, as with [`MessageDisposition::SendOnly`]).
///
/// Exchange requires `message_disposition` when creating messages and
/// `send_meeting_invitations` when creating calendar items (else
/// `ErrorMessageDispositionRequired` / `ErrorSendMeetingInvitationsRequired`); the
/// constructors set them. Never retry a CreateItem blindly: the first attempt may have
/// succeeded.
///
/// Reference: [CreateItem operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createitem-operation).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateItem {
    /// What happens to messages.
    pub message_disposition: Option<MessageDisposition>,
    /// Who hears about calendar items.
    pub send_meeting_invitations: Option<SendMeetingInvitations>,
    /// Where to save the items (default: the kind's own folder).
    pub saved_item_folder_id: Option<BaseFolderId>,
    /// What to create (at least one).
    pub items: Vec<NewItem>,
}

impl CreateItem {
    /// Creates messages with the given disposition.
    pub fn messages(
        disposition: MessageDisposition,
        saved_item_folder_id: Option<BaseFolderId>,
        messages: impl IntoIterator<Item = Message>,
    ) -> Self {
        CreateItem {
            message_disposition: Some(disposition),
            send_meeting_invitations: None,
            saved_item_folder_id,
            items: messages.into_iter().map(NewItem::from).collect(),
        }
    }

    /// Creates calendar items, telling attendees as given.
    pub fn calendar_items(
        send: SendMeetingInvitations,
        saved_item_folder_id: Option<BaseFolderId>,
        items: impl IntoIterator<Item = CalendarItem>,
    ) -> Self {
        CreateItem {
            message_disposition: None,
            send_meeting_invitations: Some(send),
            saved_item_folder_id,
            items: items.into_iter().map(NewItem::from).collect(),
        }
    }

    /// Creates items that need neither a disposition nor invitations (contacts, tasks).
    pub fn items(
        saved_item_folder_id: Option<BaseFolderId>,
        items: impl IntoIterator<Item = NewItem>,
    ) -> Self {
        CreateItem {
            message_disposition: None,
            send_meeting_invitations: None,
            saved_item_folder_id,
            items: items.into_iter().collect(),
        }
    }
}

impl Operation for CreateItem {
    const NAME: &'static str = "CreateItem";
    type Response = Vec<Result<Option<ItemId>, EwsError>>;

    fn write_body(&self, w: &mut XmlWriter) {
        let mut attrs: Vec<(&str, &str)> = Vec::with_capacity(2);
        if let Some(d) = self.message_disposition {
            attrs.push(("MessageDisposition", d.as_str()));
        }
        if let Some(s) = self.send_meeting_invitations {
            attrs.push(("SendMeetingInvitations", s.as_str()));
        }
        w.start("m:CreateItem", &attrs);
        if let Some(folder) = &self.saved_item_folder_id {
            w.start("m:SavedItemFolderId", &[]);
            folder.write(w);
            w.end("m:SavedItemFolderId");
        }
        w.start("m:Items", &[]);
        for item in &self.items {
            item.write(w);
        }
        w.end("m:Items");
        w.end("m:CreateItem");
    }

    fn parse_response(body: &Element) -> Result<Self::Response, EwsError> {
        batch(body, Self::NAME, |m: &Element| Ok(first_item_id(m)))
    }

    fn check_response(&self, response: &Self::Response) -> Result<(), EwsError> {
        expect_count(self.items.len(), response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::test_support::{body, respond};
    use crate::types::{Body, DistinguishedFolderName, Mailbox};

    #[test]
    fn request_sends_and_saves_a_message() {
        let op = CreateItem::messages(
            MessageDisposition::SendAndSaveCopy,
            Some(DistinguishedFolderName::Drafts.into()),
            [Message {
                item_class: Some("IPM.Note".into()),
                subject: Some("Project Action".into()),
                body: Some(Body::text("Priority - Update specification")),
                to_recipients: vec![Mailbox::smtp("sschmidt@example.com")],
                is_read: Some(false),
                ..Message::default()
            }],
        );
        assert_eq!(
            body(&op),
            concat!(
                r#"<m:CreateItem MessageDisposition="SendAndSaveCopy"><m:SavedItemFolderId><t:DistinguishedFolderId Id="drafts"/></m:SavedItemFolderId>"#,
                r#"<m:Items><t:Message><t:ItemClass>IPM.Note</t:ItemClass><t:Subject>Project Action</t:Subject>"#,
                r#"<t:Body BodyType="Text">Priority - Update specification</t:Body>"#,
                r#"<t:ToRecipients><t:Mailbox><t:EmailAddress>sschmidt@example.com</t:EmailAddress></t:Mailbox></t:ToRecipients>"#,
                r#"<t:IsRead>false</t:IsRead></t:Message></m:Items></m:CreateItem>"#
            )
        );
    }

    #[test]
    fn request_creates_a_meeting_without_telling_anyone() {
        let op = CreateItem::calendar_items(
            SendMeetingInvitations::SendToNone,
            None,
            [CalendarItem {
                subject: Some("Sync".into()),
                start: crate::types::DateTime::parse("2024-05-01T09:00:00Z"),
                end: crate::types::DateTime::parse("2024-05-01T09:30:00Z"),
                ..CalendarItem::default()
            }],
        );
        assert_eq!(
            body(&op),
            concat!(
                r#"<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>Sync</t:Subject>"#,
                r#"<t:Start>2024-05-01T09:00:00Z</t:Start><t:End>2024-05-01T09:30:00Z</t:End></t:CalendarItem></m:Items></m:CreateItem>"#
            )
        );
    }

    #[test]
    fn a_saved_item_reports_its_new_id() {
        let r = respond::<CreateItem>(concat!(
            r#"<m:CreateItemResponse><m:ResponseMessages><m:CreateItemResponseMessage ResponseClass="Success">"#,
            r#"<m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message><t:ItemId Id="N" ChangeKey="C"/></t:Message></m:Items>"#,
            r#"</m:CreateItemResponseMessage></m:ResponseMessages></m:CreateItemResponse>"#
        ))
        .unwrap();
        assert_eq!(
            r[0].as_ref().unwrap(),
            &Some(ItemId::with_change_key("N", "C"))
        );
    }
}
