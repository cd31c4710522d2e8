//! GetFolder: read folders by id or distinguished name.

use super::batch;
use crate::Operation;
use crate::error::EwsError;
use crate::operation::expect_count;
use crate::types::{BaseFolderId, Folder, FolderShape};
use crate::xml::{Element, NS_MESSAGES, XmlWriter};

/// Reads folders; one result per requested folder, in request order.
///
/// Reference: [GetFolder operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getfolder-operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetFolder {
    /// Which properties to return.
    pub shape: FolderShape,
    /// The folders (at least one).
    pub folder_ids: Vec<BaseFolderId>,
}

impl Operation for GetFolder {
    const NAME: &'static str = "GetFolder";
    const READ_ONLY: bool = true;
    type Response = Vec<Result<Folder, EwsError>>;

    fn write_body(&self, w: &mut XmlWriter) {
        w.start("m:GetFolder", &[]);
        self.shape.write_as(w, "m:FolderShape");
        w.start("m:FolderIds", &[]);
        for id in &self.folder_ids {
            id.write(w);
        }
        w.end("m:FolderIds");
        w.end("m:GetFolder");
    }

    fn parse_response(body: &Element) -> Result<Self::Response, EwsError> {
        batch(body, Self::NAME, read_folder)
    }

    fn check_response(&self, response: &Self::Response) -> Result<(), EwsError> {
        expect_count(self.folder_ids.len(), response)
    }
}

/// The folder of a `FolderInfoResponseMessageType` message (GetFolder, CreateFolder).
pub(crate) fn read_folder(message: &Element) -> Result<Folder, EwsError> {
    message
        .child(NS_MESSAGES, "Folders")
        .and_then(|f| Folder::read_list(f).into_iter().next())
        .ok_or_else(|| EwsError::shape("no folder in a successful message", message.name.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::test_support::{body, respond};
    use crate::types::{BaseShape, DistinguishedFolderName, FolderId, FolderKind};

    #[test]
    fn request_names_the_shape_and_folders() {
        let op = GetFolder {
            shape: FolderShape::new(BaseShape::Default),
            folder_ids: vec![
                DistinguishedFolderName::Inbox.into(),
                FolderId::new("F1").into(),
            ],
        };
        assert_eq!(
            body(&op),
            concat!(
                r#"<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>"#,
                r#"<m:FolderIds><t:DistinguishedFolderId Id="inbox"/><t:FolderId Id="F1"/></m:FolderIds></m:GetFolder>"#
            )
        );
    }

    #[test]
    fn a_calendar_folder_is_read_with_its_kind() {
        let r = respond::<GetFolder>(concat!(
            r#"<m:GetFolderResponse><m:ResponseMessages><m:GetFolderResponseMessage ResponseClass="Success">"#,
            r#"<m:ResponseCode>NoError</m:ResponseCode><m:Folders><t:CalendarFolder><t:FolderId Id="C" ChangeKey="K"/>"#,
            r#"<t:DisplayName>Calendar</t:DisplayName></t:CalendarFolder></m:Folders></m:GetFolderResponseMessage>"#,
            r#"</m:ResponseMessages></m:GetFolderResponse>"#
        ))
        .unwrap();
        let folder = r[0].as_ref().unwrap();
        assert_eq!(folder.kind, FolderKind::CalendarFolder);
        assert_eq!(folder.display_name.as_deref(), Some("Calendar"));
    }

    #[test]
    fn a_missing_answer_for_a_requested_folder_fails_the_call() {
        let op = GetFolder {
            shape: FolderShape::new(BaseShape::IdOnly),
            folder_ids: vec![DistinguishedFolderName::Inbox.into(); 2],
        };
        let one_answer = vec![Err(EwsError::shape("x", "y"))];
        assert!(matches!(
            op.check_response(&one_answer),
            Err(EwsError::MessageCount {
                expected: 2,
                actual: 1
            })
        ));
    }
}
