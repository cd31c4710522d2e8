//! FindItem: search the items of folders, page by page.

use super::batch;
use crate::Operation;
use crate::error::EwsError;
use crate::operation::expect_count;
use crate::types::{
    BaseFolderId, IndexedPageView, Item, ItemShape, PageInfo, Restriction, SortOrder, ews_enum,
};
use crate::xml::{Element, NS_MESSAGES, NS_TYPES, XmlWriter};
use serde::Serialize;

ews_enum! {
    /// Which items of the folder FindItem looks at.
    ///
    /// Reference: [FindItem](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/finditem).
    closed ItemTraversal {
        /// The folder's normal items.
        Shallow = "Shallow",
        /// Soft-deleted items (a restriction then finds nothing).
        SoftDeleted = "SoftDeleted",
        /// Folder-associated (hidden) items.
        Associated = "Associated",
    }
}

/// Searches folders; one page per parent folder, in request order.
///
/// Bodies and recipient lists are not returned by FindItem, and `From`/`Sender` carry only
/// a name: read details with GetItem. Page with [`IndexedPageView`] until
/// `includes_last_item_in_range`.
///
/// Reference: [FindItem operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/finditem-operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindItem {
    /// Which items to look at.
    pub traversal: ItemTraversal,
    /// Which properties to return.
    pub shape: ItemShape,
    /// Which page.
    pub paging: Option<IndexedPageView>,
    /// Which items to return.
    pub restriction: Option<Restriction>,
    /// How to sort them.
    pub sort_order: Vec<SortOrder>,
    /// Where to look (at least one).
    pub parent_folder_ids: Vec<BaseFolderId>,
}

/// One page of items found in one folder.
///
/// Reference: [RootFolder (FindItemResponseMessage)](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/rootfolder-finditemresponsemessage).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindItemPage {
    /// The items on this page.
    pub items: Vec<Item>,
    /// Where the page sits in the result.
    pub page: PageInfo,
}

impl Operation for FindItem {
    const NAME: &'static str = "FindItem";
    const READ_ONLY: bool = true;
    type Response = Vec<Result<FindItemPage, EwsError>>;

    fn write_body(&self, w: &mut XmlWriter) {
        w.start("m:FindItem", &[("Traversal", self.traversal.as_str())]);
        self.shape.write_as(w, "m:ItemShape");
        if let Some(paging) = &self.paging {
            paging.write_as(w, "m:IndexedPageItemView");
        }
        if let Some(r) = &self.restriction {
            r.write_as(w, "m:Restriction");
        }
        SortOrder::write_list(w, &self.sort_order);
        w.start("m:ParentFolderIds", &[]);
        for id in &self.parent_folder_ids {
            id.write(w);
        }
        w.end("m:ParentFolderIds");
        w.end("m:FindItem");
    }

    fn parse_response(body: &Element) -> Result<Self::Response, EwsError> {
        batch(body, Self::NAME, read_page)
    }

    fn check_response(&self, response: &Self::Response) -> Result<(), EwsError> {
        expect_count(self.parent_folder_ids.len(), response)
    }
}

pub(crate) fn read_page(message: &Element) -> Result<FindItemPage, EwsError> {
    let root = message
        .child(NS_MESSAGES, "RootFolder")
        .ok_or_else(|| EwsError::shape("no m:RootFolder", "FindItemResponseMessage"))?;
    let items = if let Some(items) = root.child(NS_TYPES, "Items") {
        Item::read_list(items)
    } else if let Some(groups) = root.child(NS_TYPES, "Groups") {
        // exsync never groups, but a grouped answer still lists items: keep them all.
        groups
            .children_named(NS_TYPES, "GroupedItems")
            .filter_map(|g| g.child(NS_TYPES, "Items"))
            .flat_map(Item::read_list)
            .collect()
    } else {
        Vec::new()
    };
    Ok(FindItemPage {
        items,
        page: PageInfo::read(root),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::test_support::{body, respond};
    use crate::types::{
        ComparisonOp, DateTime, DistinguishedFolderName, ExtendedFieldUri, FieldUri,
        MapiPropertyType, Operand, SortDirection,
    };

    #[test]
    fn request_writes_paging_restriction_and_sort_in_schema_order() {
        let since = DateTime::parse("2024-01-01T00:00:00Z").unwrap();
        let op = FindItem {
            traversal: ItemTraversal::Shallow,
            shape: ItemShape::id_only(),
            paging: Some(IndexedPageView::new(50, 25)),
            restriction: Some(Restriction::And(vec![
                Restriction::compare(
                    ComparisonOp::IsGreaterThanOrEqualTo,
                    FieldUri::ITEM_DATE_TIME_RECEIVED,
                    Operand::datetime(since),
                ),
                Restriction::Exists(
                    ExtendedFieldUri::tag(0x1081, MapiPropertyType::Integer).into(),
                ),
            ])),
            sort_order: vec![SortOrder {
                path: FieldUri::ITEM_DATE_TIME_RECEIVED.into(),
                direction: SortDirection::Descending,
            }],
            parent_folder_ids: vec![DistinguishedFolderName::Inbox.into()],
        };
        assert_eq!(
            body(&op),
            concat!(
                r#"<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>"#,
                r#"<m:IndexedPageItemView MaxEntriesReturned="25" Offset="50" BasePoint="Beginning"/>"#,
                r#"<m:Restriction><t:And><t:IsGreaterThanOrEqualTo><t:FieldURI FieldURI="item:DateTimeReceived"/>"#,
                r#"<t:FieldURIOrConstant><t:Constant Value="2024-01-01T00:00:00Z"/></t:FieldURIOrConstant></t:IsGreaterThanOrEqualTo>"#,
                r#"<t:Exists><t:ExtendedFieldURI PropertyTag="0x1081" PropertyType="Integer"/></t:Exists></t:And></m:Restriction>"#,
                r#"<m:SortOrder><t:FieldOrder Order="Descending"><t:FieldURI FieldURI="item:DateTimeReceived"/></t:FieldOrder></m:SortOrder>"#,
                r#"<m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>"#
            )
        );
    }

    #[test]
    fn paging_attributes_are_read() {
        let r = respond::<FindItem>(concat!(
            r#"<m:FindItemResponse><m:ResponseMessages><m:FindItemResponseMessage ResponseClass="Success">"#,
            r#"<m:ResponseCode>NoError</m:ResponseCode>"#,
            r#"<m:RootFolder IndexedPagingOffset="2" TotalItemsInView="5" IncludesLastItemInRange="false">"#,
            r#"<t:Items><t:Message><t:ItemId Id="a"/></t:Message><t:Task><t:ItemId Id="b"/></t:Task></t:Items>"#,
            r#"</m:RootFolder></m:FindItemResponseMessage></m:ResponseMessages></m:FindItemResponse>"#
        ))
        .unwrap();
        let page = r[0].as_ref().unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(
            page.page,
            PageInfo {
                indexed_paging_offset: Some(2),
                total_items_in_view: Some(5),
                includes_last_item_in_range: false,
            }
        );
    }
}
