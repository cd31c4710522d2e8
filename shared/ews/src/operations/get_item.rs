//! GetItem: read items by id.

use super::{batch, write_item_ids};
use crate::Operation;
use crate::error::EwsError;
use crate::operation::expect_count;
use crate::types::{Item, ItemId, ItemShape};
use crate::xml::{Element, NS_MESSAGES, XmlWriter};

/// Reads items; one result per id, in request order, so an item deleted meanwhile
/// (`ErrorItemNotFound`) costs only its own slot.
///
/// Ask for what sync needs beyond the base shape through
/// [`ItemShape::additional_properties`]: `item:InternetMessageHeaders`,
/// `message:InternetMessageId`, `message:References`, `message:ConversationIndex`,
/// extended properties; and the MIME with [`ItemShape::include_mime_content`]. Microsoft
/// suggests small batches (about ten items) to stay clear of throttling.
///
/// Reference: [GetItem operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getitem-operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetItem {
    /// Which properties to return.
    pub shape: ItemShape,
    /// The items (at least one).
    pub item_ids: Vec<ItemId>,
}

impl Operation for GetItem {
    const NAME: &'static str = "GetItem";
    const READ_ONLY: bool = true;
    type Response = Vec<Result<Item, EwsError>>;

    fn write_body(&self, w: &mut XmlWriter) {
        w.start("m:GetItem", &[]);
        self.shape.write_as(w, "m:ItemShape");
        write_item_ids(w, "m:ItemIds", &self.item_ids);
        w.end("m:GetItem");
    }

    fn parse_response(body: &Element) -> Result<Self::Response, EwsError> {
        batch(body, Self::NAME, read_item)
    }

    fn check_response(&self, response: &Self::Response) -> Result<(), EwsError> {
        expect_count(self.item_ids.len(), response)
    }
}

/// The item of an `ItemInfoResponseMessageType` message.
pub(crate) fn read_item(message: &Element) -> Result<Item, EwsError> {
    message
        .child(NS_MESSAGES, "Items")
        .and_then(|items| items.children.first())
        .map(Item::read)
        .ok_or_else(|| EwsError::shape("no item in a successful message", message.name.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::test_support::body;
    use crate::types::{
        BaseShape, BodyTypeResponse, ExtendedFieldUri, FieldUri, MapiPropertyType, PropertyPath,
    };

    #[test]
    fn request_asks_for_mime_headers_and_extended_properties() {
        let mut shape = ItemShape::new(BaseShape::IdOnly).with_properties([
            PropertyPath::from(FieldUri::ITEM_INTERNET_MESSAGE_HEADERS),
            FieldUri::MESSAGE_INTERNET_MESSAGE_ID.into(),
            FieldUri::MESSAGE_REFERENCES.into(),
            FieldUri::MESSAGE_CONVERSATION_INDEX.into(),
            ExtendedFieldUri::tag(0x1081, MapiPropertyType::Integer).into(),
        ]);
        shape.include_mime_content = true;
        shape.body_type = Some(BodyTypeResponse::Text);
        let op = GetItem {
            shape,
            item_ids: vec![ItemId::with_change_key("A", "CK"), ItemId::new("B")],
        };
        assert_eq!(
            body(&op),
            concat!(
                r#"<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent>"#,
                r#"<t:BodyType>Text</t:BodyType><t:AdditionalProperties>"#,
                r#"<t:FieldURI FieldURI="item:InternetMessageHeaders"/><t:FieldURI FieldURI="message:InternetMessageId"/>"#,
                r#"<t:FieldURI FieldURI="message:References"/><t:FieldURI FieldURI="message:ConversationIndex"/>"#,
                r#"<t:ExtendedFieldURI PropertyTag="0x1081" PropertyType="Integer"/></t:AdditionalProperties></m:ItemShape>"#,
                r#"<m:ItemIds><t:ItemId Id="A" ChangeKey="CK"/><t:ItemId Id="B"/></m:ItemIds></m:GetItem>"#
            )
        );
    }
}
