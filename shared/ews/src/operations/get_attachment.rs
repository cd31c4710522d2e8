//! GetAttachment: read attachments by id.

use super::batch;
use crate::Operation;
use crate::error::EwsError;
use crate::operation::expect_count;
use crate::types::{Attachment, AttachmentId};
use crate::xml::{Element, NS_MESSAGES, XmlWriter};

/// Reads attachments; one result per id, in request order. File attachments come with
/// their bytes (decoded from base64, line breaks tolerated); item attachments with their
/// description only.
///
/// Reference: [GetAttachment operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getattachment-operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetAttachment {
    /// The attachments (at least one).
    pub attachment_ids: Vec<AttachmentId>,
}

impl Operation for GetAttachment {
    const NAME: &'static str = "GetAttachment";
    const READ_ONLY: bool = true;
    type Response = Vec<Result<Attachment, EwsError>>;

    fn write_body(&self, w: &mut XmlWriter) {
        w.start("m:GetAttachment", &[]);
        w.start("m:AttachmentIds", &[]);
        for id in &self.attachment_ids {
            w.empty("t:AttachmentId", &[("Id", &id.0)]);
        }
        w.end("m:AttachmentIds");
        w.end("m:GetAttachment");
    }

    fn parse_response(body: &Element) -> Result<Self::Response, EwsError> {
        batch(body, Self::NAME, read_attachment)
    }

    fn check_response(&self, response: &Self::Response) -> Result<(), EwsError> {
        expect_count(self.attachment_ids.len(), response)
    }
}

pub(crate) fn read_attachment(message: &Element) -> Result<Attachment, EwsError> {
    let attachment = message
        .child(NS_MESSAGES, "Attachments")
        .and_then(|a| a.children.first())
        .ok_or_else(|| {
            EwsError::shape(
                "no attachment in a successful message",
                message.name.clone(),
            )
        })?;
    Attachment::read(attachment).ok_or_else(|| {
        EwsError::shape(
            format!(
                "unreadable {} (missing or invalid content)",
                attachment.name
            ),
            "GetAttachmentResponseMessage/Attachments",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::test_support::{body, respond};

    #[test]
    fn request_lists_the_attachment_ids() {
        let op = GetAttachment {
            attachment_ids: vec![AttachmentId("AAAtAEFkbWluaX".into())],
        };
        assert_eq!(
            body(&op),
            r#"<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="AAAtAEFkbWluaX"/></m:AttachmentIds></m:GetAttachment>"#
        );
    }

    #[test]
    fn folded_base64_content_is_decoded() {
        let r = respond::<GetAttachment>(concat!(
            r#"<m:GetAttachmentResponse><m:ResponseMessages><m:GetAttachmentResponseMessage ResponseClass="Success">"#,
            r#"<m:ResponseCode>NoError</m:ResponseCode><m:Attachments><t:FileAttachment><t:AttachmentId Id="X"/>"#,
            "<t:Name>a.txt</t:Name><t:ContentType>text/plain</t:ContentType><t:Content>aGVs\r\n  bG8=</t:Content>",
            r#"</t:FileAttachment></m:Attachments></m:GetAttachmentResponseMessage></m:ResponseMessages></m:GetAttachmentResponse>"#
        ))
        .unwrap();
        let Attachment::File { info, content } = r[0].as_ref().unwrap() else {
            panic!("a file attachment")
        };
        assert_eq!(info.name.as_deref(), Some("a.txt"));
        assert_eq!(content.as_bytes(), b"hello");
    }

    #[test]
    fn an_item_attachment_is_described() {
        let r = respond::<GetAttachment>(concat!(
            r#"<m:GetAttachmentResponse><m:ResponseMessages><m:GetAttachmentResponseMessage ResponseClass="Success">"#,
            r#"<m:ResponseCode>NoError</m:ResponseCode><m:Attachments><t:ItemAttachment><t:AttachmentId Id="Y"/>"#,
            r#"<t:Name>Fwd</t:Name><t:Message><t:Subject>inner</t:Subject></t:Message></t:ItemAttachment></m:Attachments>"#,
            r#"</m:GetAttachmentResponseMessage></m:ResponseMessages></m:GetAttachmentResponse>"#
        ))
        .unwrap();
        assert!(
            matches!(r[0].as_ref().unwrap(), Attachment::Item { info } if info.name.as_deref() == Some("Fwd"))
        );
    }
}
