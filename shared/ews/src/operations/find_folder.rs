//! FindFolder: list the subfolders of folders.

use super::batch;
use crate::Operation;
use crate::error::EwsError;
use crate::operation::expect_count;
use crate::types::{
    BaseFolderId, Folder, FolderShape, IndexedPageView, PageInfo, Restriction, ews_enum,
};
use crate::xml::{Element, NS_MESSAGES, NS_TYPES, XmlWriter};
use serde::Serialize;

ews_enum! {
    /// How deep FindFolder looks.
    ///
    /// Reference: [FindFolder](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/findfolder).
    closed FolderTraversal {
        /// Direct children only.
        Shallow = "Shallow",
        /// The whole subtree (not for public folders).
        Deep = "Deep",
        /// Soft-deleted folders.
        SoftDeleted = "SoftDeleted",
    }
}

/// Lists subfolders; one page per parent folder, in request order.
///
/// Reference: [FindFolder operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/findfolder-operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindFolder {
    /// How deep to look.
    pub traversal: FolderTraversal,
    /// Which properties to return.
    pub shape: FolderShape,
    /// Which page, when paging.
    pub paging: Option<IndexedPageView>,
    /// Which folders to return (folder properties only).
    pub restriction: Option<Restriction>,
    /// Where to look (at least one).
    pub parent_folder_ids: Vec<BaseFolderId>,
}

/// The subfolders found under one parent.
///
/// Reference: [RootFolder (FindFolderResponseMessage)](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/rootfolder-findfolderresponsemessage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindFolderPage {
    /// The folders on this page.
    pub folders: Vec<Folder>,
    /// Where the page sits in the result.
    pub page: PageInfo,
}

impl Operation for FindFolder {
    const NAME: &'static str = "FindFolder";
    const READ_ONLY: bool = true;
    type Response = Vec<Result<FindFolderPage, EwsError>>;

    fn write_body(&self, w: &mut XmlWriter) {
        w.start("m:FindFolder", &[("Traversal", self.traversal.as_str())]);
        self.shape.write_as(w, "m:FolderShape");
        if let Some(paging) = &self.paging {
            paging.write_as(w, "m:IndexedPageFolderView");
        }
        if let Some(r) = &self.restriction {
            r.write_as(w, "m:Restriction");
        }
        w.start("m:ParentFolderIds", &[]);
        for id in &self.parent_folder_ids {
            id.write(w);
        }
        w.end("m:ParentFolderIds");
        w.end("m:FindFolder");
    }

    fn parse_response(body: &Element) -> Result<Self::Response, EwsError> {
        batch(body, Self::NAME, read_page)
    }

    fn check_response(&self, response: &Self::Response) -> Result<(), EwsError> {
        expect_count(self.parent_folder_ids.len(), response)
    }
}

pub(crate) fn read_page(message: &Element) -> Result<FindFolderPage, EwsError> {
    let root = message
        .child(NS_MESSAGES, "RootFolder")
        .ok_or_else(|| EwsError::shape("no m:RootFolder", "FindFolderResponseMessage"))?;
    Ok(FindFolderPage {
        folders: root
            .child(NS_TYPES, "Folders")
            .map(Folder::read_list)
            .unwrap_or_default(),
        page: PageInfo::read(root),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::test_support::body;
    use crate::types::{BaseShape, DistinguishedFolderName, FieldUri};

    #[test]
    fn request_puts_paging_and_restriction_before_the_parents() {
        let op = FindFolder {
            traversal: FolderTraversal::Deep,
            shape: FolderShape::new(BaseShape::IdOnly),
            paging: Some(IndexedPageView::new(0, 100)),
            restriction: Some(Restriction::equal(FieldUri::FOLDER_DISPLAY_NAME, "Archive")),
            parent_folder_ids: vec![DistinguishedFolderName::MsgFolderRoot.into()],
        };
        assert_eq!(
            body(&op),
            concat!(
                r#"<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"#,
                r#"<m:IndexedPageFolderView MaxEntriesReturned="100" Offset="0" BasePoint="Beginning"/>"#,
                r#"<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="folder:DisplayName"/><t:FieldURIOrConstant><t:Constant Value="Archive"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>"#,
                r#"<m:ParentFolderIds><t:DistinguishedFolderId Id="msgfolderroot"/></m:ParentFolderIds></m:FindFolder>"#
            )
        );
    }
}
