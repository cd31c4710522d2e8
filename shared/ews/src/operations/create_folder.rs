//! CreateFolder: create folders under a parent.

use super::batch;
use super::get_folder::read_folder;
use crate::Operation;
use crate::error::EwsError;
use crate::operation::expect_count;
use crate::types::{BaseFolderId, Folder, NewFolder};
use crate::xml::{Element, XmlWriter};

/// Creates folders; one result per folder, in request order. The result carries the new
/// folder's id.
///
/// Reference: [CreateFolder operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createfolder-operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateFolder {
    /// Where to create them.
    pub parent_folder_id: BaseFolderId,
    /// What to create (at least one).
    pub folders: Vec<NewFolder>,
}

impl Operation for CreateFolder {
    const NAME: &'static str = "CreateFolder";
    type Response = Vec<Result<Folder, EwsError>>;

    fn write_body(&self, w: &mut XmlWriter) {
        w.start("m:CreateFolder", &[]);
        w.start("m:ParentFolderId", &[]);
        self.parent_folder_id.write(w);
        w.end("m:ParentFolderId");
        w.start("m:Folders", &[]);
        for f in &self.folders {
            f.write(w);
        }
        w.end("m:Folders");
        w.end("m:CreateFolder");
    }

    fn parse_response(body: &Element) -> Result<Self::Response, EwsError> {
        batch(body, Self::NAME, read_folder)
    }

    fn check_response(&self, response: &Self::Response) -> Result<(), EwsError> {
        expect_count(self.folders.len(), response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ResponseCode;
    use crate::operations::test_support::{body, respond};
    use crate::types::DistinguishedFolderName;

    #[test]
    fn request_names_parent_and_new_folders() {
        let op = CreateFolder {
            parent_folder_id: DistinguishedFolderName::Inbox.into(),
            folders: vec![NewFolder::mail("Projects")],
        };
        assert_eq!(
            body(&op),
            concat!(
                r#"<m:CreateFolder><m:ParentFolderId><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderId>"#,
                r#"<m:Folders><t:Folder><t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>Projects</t:DisplayName></t:Folder></m:Folders></m:CreateFolder>"#
            )
        );
    }

    #[test]
    fn an_existing_folder_is_an_item_level_error() {
        let r = respond::<CreateFolder>(concat!(
            r#"<m:CreateFolderResponse><m:ResponseMessages><m:CreateFolderResponseMessage ResponseClass="Error">"#,
            r#"<m:MessageText>A folder with the specified name already exists.</m:MessageText>"#,
            r#"<m:ResponseCode>ErrorFolderExists</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Folders/>"#,
            r#"</m:CreateFolderResponseMessage></m:ResponseMessages></m:CreateFolderResponse>"#
        ))
        .unwrap();
        let err = r[0].as_ref().unwrap_err();
        assert_eq!(err.response_code(), Some(&ResponseCode::ErrorFolderExists));
        assert_eq!(err.class(), crate::ErrorClass::ItemLevel);
    }
}
