//! One module per EWS operation: a typed request, its typed response, and the
//! [`Operation`](crate::Operation) impl that joins them.
//!
//! Every response holds `m:ResponseMessages` with one `m:<Op>ResponseMessage` per request
//! item (per id, per folder, per item to create). Batched operations return one
//! `Result` per message, in order, so a per-item error never fails the batch; operations
//! with a single message turn its error into the call's error.

pub(crate) mod create_folder;
pub(crate) mod create_item;
pub(crate) mod delete_item;
pub(crate) mod find_folder;
pub(crate) mod find_item;
pub(crate) mod get_attachment;
pub(crate) mod get_folder;
pub(crate) mod get_item;
pub(crate) mod move_item;
pub(crate) mod sync_folder_items;
pub(crate) mod update_item;

pub use create_folder::CreateFolder;
pub use create_item::{CreateItem, MessageDisposition, SendMeetingInvitations};
pub use delete_item::{AffectedTaskOccurrences, DeleteItem, DeleteType};
pub use find_folder::{FindFolder, FindFolderPage, FolderTraversal};
pub use find_item::{FindItem, FindItemPage, ItemTraversal};
pub use get_attachment::GetAttachment;
pub use get_folder::GetFolder;
pub use get_item::GetItem;
pub use move_item::MoveItem;
pub use sync_folder_items::{
    MaxChangesReturned, SyncChange, SyncFolderItems, SyncFolderItemsResult, SyncScope,
};
pub use update_item::{
    ConflictResolution, ItemChange, ItemUpdate, SendMeetingInvitationsOrCancellations, UpdateItem,
    UpdatedItem,
};

use crate::envelope::{back_off, message_xml_value};
use crate::error::{EwsError, ResponseCode, ResponseError};
use crate::types::ItemId;
use crate::xml::{Element, NS_MESSAGES, NS_TYPES, XmlWriter};

/// The response messages of `response` (`m:<op>Response`), each checked to be an
/// `m:<op>ResponseMessage`.
pub(crate) fn response_messages<'a>(
    response: &'a Element,
    op: &str,
) -> Result<Vec<&'a Element>, EwsError> {
    let Some(messages) = response.child(NS_MESSAGES, "ResponseMessages") else {
        return Err(EwsError::shape(
            "no m:ResponseMessages",
            format!("soap:Body/{op}Response"),
        ));
    };
    let expected = format!("{op}ResponseMessage");
    messages
        .children
        .iter()
        .map(|m| {
            if m.is(NS_MESSAGES, &expected) {
                Ok(m)
            } else {
                Err(EwsError::shape(
                    format!("{{{}}}{} where {expected} was expected", m.ns, m.name),
                    format!("soap:Body/{op}Response/ResponseMessages"),
                ))
            }
        })
        .collect()
}

/// The status of one response message: `Ok` for success (or a warning with `NoError`),
/// the message's error otherwise.
pub(crate) fn message_status(message: &Element) -> Result<(), EwsError> {
    let class = message.attr("ResponseClass").map(str::trim);
    let code = message
        .child_local("ResponseCode")
        .map(|c| ResponseCode::from(c.trimmed()));
    match (class, &code) {
        (Some("Success"), _) | (_, Some(ResponseCode::NoError)) => Ok(()),
        (None, None) => Err(EwsError::shape(
            "response message without ResponseClass or ResponseCode",
            message.name.clone(),
        )),
        _ => {
            let message_xml = message.child_local("MessageXml");
            Err(EwsError::Response(Box::new(ResponseError {
                response_class: class.unwrap_or_default().to_owned(),
                code: code.unwrap_or_else(|| ResponseCode::Other(String::new())),
                message: message
                    .child_local("MessageText")
                    .map(|t| t.trimmed().to_owned()),
                back_off: message_xml.and_then(back_off),
                inner_code: message_xml
                    .and_then(|m| message_xml_value(m, "InnerErrorResponseCode"))
                    .map(ResponseCode::from),
            })))
        }
    }
}

/// One result per response message: the message's error, or what `payload` reads from it.
pub(crate) fn batch<T>(
    response: &Element,
    op: &str,
    payload: impl Fn(&Element) -> Result<T, EwsError>,
) -> Result<Vec<Result<T, EwsError>>, EwsError> {
    Ok(response_messages(response, op)?
        .into_iter()
        .map(|m| message_status(m).and_then(|()| payload(m)))
        .collect())
}

/// The one response message of a non-batched operation.
pub(crate) fn single<T>(
    response: &Element,
    op: &str,
    payload: impl Fn(&Element) -> Result<T, EwsError>,
) -> Result<T, EwsError> {
    let messages = response_messages(response, op)?;
    let [message] = messages.as_slice() else {
        return Err(EwsError::MessageCount {
            expected: 1,
            actual: messages.len(),
        });
    };
    message_status(message)?;
    payload(message)
}

/// Writes `m:ItemIds` (or another element of `NonEmptyArrayOfBaseItemIdsType`).
pub(crate) fn write_item_ids(w: &mut XmlWriter, element: &str, ids: &[ItemId]) {
    w.start(element, &[]);
    for id in ids {
        id.write(w);
    }
    w.end(element);
}

/// The first item id in a message's `m:Items` (CreateItem, UpdateItem, MoveItem answers).
pub(crate) fn first_item_id(message: &Element) -> Option<ItemId> {
    message
        .child(NS_MESSAGES, "Items")?
        .children
        .first()?
        .child(NS_TYPES, "ItemId")
        .and_then(ItemId::read)
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::Operation;
    use crate::xml::{Limits, NS_MESSAGES, NS_SOAP, NS_TYPES, XmlWriter};

    /// The body element an operation writes, as a string.
    pub(crate) fn body<Op: Operation>(op: &Op) -> String {
        let mut w = XmlWriter::new();
        op.write_body(&mut w);
        w.into_string()
    }

    /// Wraps a response body (using the `m:`/`t:` prefixes) in an envelope and parses it.
    pub(crate) fn respond<Op: Operation>(
        inner: &str,
    ) -> Result<Op::Response, crate::error::EwsError> {
        let doc = format!(
            r#"<s:Envelope xmlns:s="{NS_SOAP}" xmlns:m="{NS_MESSAGES}" xmlns:t="{NS_TYPES}"><s:Body>{inner}</s:Body></s:Envelope>"#
        );
        crate::envelope::read_response::<Op>(doc.as_bytes(), Limits::default()).map(|r| r.body)
    }
}
