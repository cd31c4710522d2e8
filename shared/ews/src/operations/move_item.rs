//! MoveItem: move items to another folder.

use super::{batch, first_item_id, write_item_ids};
use crate::Operation;
use crate::error::EwsError;
use crate::operation::expect_count;
use crate::types::{BaseFolderId, ItemId};
use crate::xml::{Element, XmlWriter};

/// Moves items; one result per id, in request order, holding the item's id in its new
/// folder (a move changes the id; Exchange 2010 SP1 and later return it).
///
/// Reference: [MoveItem operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/moveitem-operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveItem {
    /// Where to.
    pub to_folder_id: BaseFolderId,
    /// The items (at least one).
    pub item_ids: Vec<ItemId>,
}

impl Operation for MoveItem {
    const NAME: &'static str = "MoveItem";
    type Response = Vec<Result<Option<ItemId>, EwsError>>;

    fn write_body(&self, w: &mut XmlWriter) {
        w.start("m:MoveItem", &[]);
        w.start("m:ToFolderId", &[]);
        self.to_folder_id.write(w);
        w.end("m:ToFolderId");
        write_item_ids(w, "m:ItemIds", &self.item_ids);
        w.end("m:MoveItem");
    }

    fn parse_response(body: &Element) -> Result<Self::Response, EwsError> {
        batch(body, Self::NAME, |m: &Element| Ok(first_item_id(m)))
    }

    fn check_response(&self, response: &Self::Response) -> Result<(), EwsError> {
        expect_count(self.item_ids.len(), response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::test_support::body;
    use crate::types::DistinguishedFolderName;

    #[test]
    fn request_names_the_destination_then_the_items() {
        let op = MoveItem {
            to_folder_id: DistinguishedFolderName::DeletedItems.into(),
            item_ids: vec![ItemId::new("A"), ItemId::new("B")],
        };
        assert_eq!(
            body(&op),
            concat!(
                r#"<m:MoveItem><m:ToFolderId><t:DistinguishedFolderId Id="deleteditems"/></m:ToFolderId>"#,
                r#"<m:ItemIds><t:ItemId Id="A"/><t:ItemId Id="B"/></m:ItemIds></m:MoveItem>"#
            )
        );
    }
}
