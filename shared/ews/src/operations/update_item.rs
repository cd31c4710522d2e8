//! UpdateItem: change properties of existing items.

use super::{batch, first_item_id};
use crate::Operation;
use crate::error::EwsError;
use crate::operation::expect_count;
use crate::operations::MessageDisposition;
use crate::types::read;
use crate::types::{
    BaseFolderId, CalendarItem, Contact, ExtendedFieldUri, ExtendedProperty, ItemId, ItemKind,
    Message, NewItem, PropertyPath, Task, ews_enum,
};
use crate::xml::{Element, NS_MESSAGES, XmlWriter};
use serde::Serialize;

ews_enum! {
    /// What to do when the item changed since its change key was read.
    ///
    /// Reference: [UpdateItem](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/updateitem).
    closed ConflictResolution {
        /// Fail (`ErrorIrresolvableConflict`) on any conflict.
        NeverOverwrite = "NeverOverwrite",
        /// Let the server merge, failing only when it cannot.
        AutoResolve = "AutoResolve",
        /// Overwrite whatever changed.
        AlwaysOverwrite = "AlwaysOverwrite",
    }
}

ews_enum! {
    /// Who hears about an updated meeting.
    ///
    /// Reference: [UpdateItem](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/updateitem).
    closed SendMeetingInvitationsOrCancellations {
        /// No one.
        SendToNone = "SendToNone",
        /// Every attendee, no copy kept.
        SendOnlyToAll = "SendOnlyToAll",
        /// Only added or removed attendees, no copy kept.
        SendOnlyToChanged = "SendOnlyToChanged",
        /// Every attendee, copy in Sent Items.
        SendToAllAndSaveCopy = "SendToAllAndSaveCopy",
        /// Only added or removed attendees, copy in Sent Items.
        SendToChangedAndSaveCopy = "SendToChangedAndSaveCopy",
    }
}

/// One property change.
///
/// `Set` and `Append` carry an item of the right kind holding exactly the property named by
/// `path` (Exchange refuses more or fewer with `ErrorIncorrectUpdatePropertyCount`).
///
/// References: [SetItemField](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/setitemfield),
/// [AppendToItemField](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/appendtoitemfield),
/// [DeleteItemField](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/deleteitemfield).
#[derive(Debug, Clone, PartialEq)]
pub enum ItemUpdate {
    /// Replace the property's value.
    Set {
        /// The property.
        path: PropertyPath,
        /// An item holding the new value.
        item: NewItem,
    },
    /// Append to the property (recipients, body).
    Append {
        /// The property.
        path: PropertyPath,
        /// An item holding what to append.
        item: NewItem,
    },
    /// Remove the property.
    Delete(PropertyPath),
}

impl ItemUpdate {
    /// Sets an extended property on an item of the given kind.
    pub fn set_extended(kind: ItemKind, property: ExtendedProperty) -> Self {
        let path = PropertyPath::Extended(property.field_uri.clone());
        let extended_properties = vec![property];
        let item = match kind {
            ItemKind::Message => NewItem::from(Message {
                extended_properties,
                ..Message::default()
            }),
            ItemKind::CalendarItem => NewItem::from(CalendarItem {
                extended_properties,
                ..CalendarItem::default()
            }),
            ItemKind::Contact => NewItem::from(Contact {
                extended_properties,
                ..Contact::default()
            }),
            ItemKind::Task => NewItem::from(Task {
                extended_properties,
                ..Task::default()
            }),
        };
        ItemUpdate::Set { path, item }
    }

    /// Removes an extended property.
    pub fn delete_extended(field_uri: ExtendedFieldUri) -> Self {
        ItemUpdate::Delete(PropertyPath::Extended(field_uri))
    }

    fn write(&self, w: &mut XmlWriter) {
        let (name, path, item) = match self {
            ItemUpdate::Set { path, item } => ("t:SetItemField", path, Some(item)),
            ItemUpdate::Append { path, item } => ("t:AppendToItemField", path, Some(item)),
            ItemUpdate::Delete(path) => ("t:DeleteItemField", path, None),
        };
        w.start(name, &[]);
        path.write(w);
        if let Some(item) = item {
            item.write(w);
        }
        w.end(name);
    }
}

/// The changes to one item.
///
/// Reference: [ItemChange](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/itemchange).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemChange {
    /// The item, with the change key the changes are based on.
    pub item_id: ItemId,
    /// The changes (at least one).
    pub updates: Vec<ItemUpdate>,
}

/// Updates items; one result per changed item, in request order.
///
/// Reference: [UpdateItem operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/updateitem-operation).
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateItem {
    /// What to do on a conflicting change.
    pub conflict_resolution: ConflictResolution,
    /// For messages: save, send, or both.
    pub message_disposition: Option<MessageDisposition>,
    /// For calendar items: who hears about it (required by Exchange for them).
    pub send_meeting_invitations_or_cancellations: Option<SendMeetingInvitationsOrCancellations>,
    /// Where to save sent messages.
    pub saved_item_folder_id: Option<BaseFolderId>,
    /// The changes (at least one item).
    pub changes: Vec<ItemChange>,
}

impl UpdateItem {
    /// Updates that resolve conflicts automatically and notify no one.
    pub fn new(changes: Vec<ItemChange>) -> Self {
        UpdateItem {
            conflict_resolution: ConflictResolution::AutoResolve,
            message_disposition: None,
            send_meeting_invitations_or_cancellations: None,
            saved_item_folder_id: None,
            changes,
        }
    }
}

/// What UpdateItem reports for one item.
///
/// Reference: [UpdateItemResponseMessage](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/updateitemresponsemessage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdatedItem {
    /// The item's id with its new change key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<ItemId>,
    /// How many conflicts the server resolved (`ConflictResults/Count`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict_count: Option<u32>,
}

impl Operation for UpdateItem {
    const NAME: &'static str = "UpdateItem";
    type Response = Vec<Result<UpdatedItem, EwsError>>;

    fn write_body(&self, w: &mut XmlWriter) {
        let mut attrs: Vec<(&str, &str)> = Vec::with_capacity(3);
        attrs.push(("ConflictResolution", self.conflict_resolution.as_str()));
        if let Some(d) = self.message_disposition {
            attrs.push(("MessageDisposition", d.as_str()));
        }
        if let Some(s) = self.send_meeting_invitations_or_cancellations {
            attrs.push(("SendMeetingInvitationsOrCancellations", s.as_str()));
        }
        w.start("m:UpdateItem", &attrs);
        if let Some(folder) = &self.saved_item_folder_id {
            w.start("m:SavedItemFolderId", &[]);
            folder.write(w);
            w.end("m:SavedItemFolderId");
        }
        w.start("m:ItemChanges", &[]);
        for change in &self.changes {
            w.start("t:ItemChange", &[]);
            change.item_id.write(w);
            w.start("t:Updates", &[]);
            for u in &change.updates {
                u.write(w);
            }
            w.end("t:Updates");
            w.end("t:ItemChange");
        }
        w.end("m:ItemChanges");
        w.end("m:UpdateItem");
    }

    fn parse_response(body: &Element) -> Result<Self::Response, EwsError> {
        batch(body, Self::NAME, |m: &Element| {
            Ok(UpdatedItem {
                item_id: first_item_id(m),
                conflict_count: m
                    .child(NS_MESSAGES, "ConflictResults")
                    .and_then(|c| read::number(c, "Count")),
            })
        })
    }

    fn check_response(&self, response: &Self::Response) -> Result<(), EwsError> {
        expect_count(self.changes.len(), response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::test_support::{body, respond};
    use crate::types::{DistinguishedPropertySet, FieldUri, Mailbox, MapiPropertyType};

    #[test]
    fn request_sets_appends_and_deletes_fields() {
        let prop = ExtendedFieldUri::named(
            DistinguishedPropertySet::PublicStrings,
            "X-Exsync",
            MapiPropertyType::String,
        );
        let op = UpdateItem {
            conflict_resolution: ConflictResolution::AutoResolve,
            message_disposition: Some(MessageDisposition::SaveOnly),
            send_meeting_invitations_or_cancellations: None,
            saved_item_folder_id: None,
            changes: vec![ItemChange {
                item_id: ItemId::with_change_key("I", "CK"),
                updates: vec![
                    ItemUpdate::Set {
                        path: FieldUri::ITEM_SUBJECT.into(),
                        item: Message {
                            subject: Some("New".into()),
                            ..Message::default()
                        }
                        .into(),
                    },
                    ItemUpdate::Append {
                        path: FieldUri::MESSAGE_TO_RECIPIENTS.into(),
                        item: Message {
                            to_recipients: vec![Mailbox::smtp("b@example.com")],
                            ..Message::default()
                        }
                        .into(),
                    },
                    ItemUpdate::set_extended(
                        ItemKind::Message,
                        ExtendedProperty::new(prop.clone(), "1"),
                    ),
                    ItemUpdate::Delete(FieldUri::ITEM_CATEGORIES.into()),
                    ItemUpdate::delete_extended(prop),
                ],
            }],
        };
        let ext = r#"<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="X-Exsync" PropertyType="String"/>"#;
        let expected = [
            r#"<m:UpdateItem ConflictResolution="AutoResolve" MessageDisposition="SaveOnly"><m:ItemChanges>"#,
            r#"<t:ItemChange><t:ItemId Id="I" ChangeKey="CK"/><t:Updates>"#,
            r#"<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>New</t:Subject></t:Message></t:SetItemField>"#,
            r#"<t:AppendToItemField><t:FieldURI FieldURI="message:ToRecipients"/><t:Message><t:ToRecipients><t:Mailbox><t:EmailAddress>b@example.com</t:EmailAddress></t:Mailbox></t:ToRecipients></t:Message></t:AppendToItemField>"#,
            &format!(r#"<t:SetItemField>{ext}<t:Message><t:ExtendedProperty>{ext}<t:Value>1</t:Value></t:ExtendedProperty></t:Message></t:SetItemField>"#),
            r#"<t:DeleteItemField><t:FieldURI FieldURI="item:Categories"/></t:DeleteItemField>"#,
            &format!(r#"<t:DeleteItemField>{ext}</t:DeleteItemField>"#),
            r#"</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"#,
        ]
        .concat();
        assert_eq!(body(&op), expected);
    }

    #[test]
    fn the_new_change_key_and_conflicts_are_read() {
        let r = respond::<UpdateItem>(concat!(
            r#"<m:UpdateItemResponse><m:ResponseMessages><m:UpdateItemResponseMessage ResponseClass="Success">"#,
            r#"<m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message><t:ItemId Id="I" ChangeKey="CK2"/></t:Message></m:Items>"#,
            r#"<m:ConflictResults><t:Count>1</t:Count></m:ConflictResults>"#,
            r#"</m:UpdateItemResponseMessage></m:ResponseMessages></m:UpdateItemResponse>"#
        ))
        .unwrap();
        assert_eq!(
            r[0].as_ref().unwrap(),
            &UpdatedItem {
                item_id: Some(ItemId::with_change_key("I", "CK2")),
                conflict_count: Some(1),
            }
        );
    }
}
