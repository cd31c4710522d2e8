//! Indexed paging for FindItem and FindFolder.

use super::ews_enum;
use super::read;
use crate::xml::{Element, XmlWriter};
use serde::Serialize;

ews_enum! {
    /// Where an indexed page's offset counts from.
    ///
    /// Reference: [IndexedPageItemView](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/indexedpageitemview).
    closed IndexBasePoint {
        /// From the first item.
        Beginning = "Beginning",
        /// From the last item.
        End = "End",
    }
}

/// One page of a FindItem/FindFolder result (`IndexedPageItemView`,
/// `IndexedPageFolderView`).
///
/// Page until [`PageInfo::includes_last_item_in_range`]: on 2010 SP1 and later the server may
/// return a short page instead of an error when EWSFindCountLimit bites.
///
/// Reference: [IndexedPageItemView](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/indexedpageitemview).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexedPageView {
    /// Page size; `None` lets the server decide (up to its limit, 1000 by default).
    pub max_entries_returned: Option<u32>,
    /// Items to skip from the base point.
    pub offset: u32,
    /// Where `offset` counts from.
    pub base_point: IndexBasePoint,
}

impl IndexedPageView {
    /// A page of `size` items starting `offset` items from the beginning.
    pub fn new(offset: u32, size: u32) -> Self {
        IndexedPageView {
            max_entries_returned: Some(size),
            offset,
            base_point: IndexBasePoint::Beginning,
        }
    }

    pub(crate) fn write_as(&self, w: &mut XmlWriter, element: &str) {
        // The schema types both as xs:int.
        let clamp = |n: u32| n.min(i32::MAX as u32).to_string();
        let offset = clamp(self.offset);
        let max = self.max_entries_returned.map(clamp);
        let mut attrs: Vec<(&str, &str)> = Vec::with_capacity(3);
        if let Some(max) = &max {
            attrs.push(("MaxEntriesReturned", max));
        }
        attrs.push(("Offset", &offset));
        attrs.push(("BasePoint", self.base_point.as_str()));
        w.empty(element, &attrs);
    }
}

/// Where a FindItem/FindFolder page sits in the whole result (`RootFolder` attributes).
///
/// Reference: [RootFolder (FindItemResponseMessage)](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/rootfolder-finditemresponsemessage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageInfo {
    /// The offset to ask for next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indexed_paging_offset: Option<u32>,
    /// How many items the whole view holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_items_in_view: Option<u32>,
    /// Whether this page reaches the end of the view. When the server omits the attribute
    /// this is `true`, so a paging loop ends rather than asking forever.
    pub includes_last_item_in_range: bool,
}

impl PageInfo {
    pub(crate) fn read(root_folder: &Element) -> PageInfo {
        PageInfo {
            indexed_paging_offset: read::attr_number(root_folder, "IndexedPagingOffset"),
            total_items_in_view: read::attr_number(root_folder, "TotalItemsInView"),
            includes_last_item_in_range: read::attr_bool(root_folder, "IncludesLastItemInRange")
                .unwrap_or(true),
        }
    }
}
