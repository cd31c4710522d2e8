//! Decoding any EWS response into JSON, for `exsync ews decode`.
//!
//! The operation is recognised from the body element (`GetItemResponse` → GetItem) and each
//! response message is read with that operation's own reader, so the CLI shows exactly what
//! exsync would make of the document. Item content (bodies, MIME, attachment bytes) is left
//! out: the output identifies items, it does not copy mail.

use crate::envelope::{BodyContent, ServerVersionInfo, read_envelope};
use crate::error::{EwsError, SoapFault};
use crate::operations::{message_status, response_messages};
use crate::types::{Attachment, Item};
use crate::xml::{Element, Limits, NS_MESSAGES};
use serde_json::{Map, Value, json};

/// Decodes an EWS response document (a SOAP envelope holding an operation response or a
/// fault) into JSON: `operation`, `server_version`, and per response message its
/// `response_class`, `code`, `message_text`, error `class`, `back_off_ms`, and what it
/// carries (items, folders, sync state, changes, paging, attachments).
///
/// A document that is XML but no SOAP envelope fails with
/// [`EwsError::NotSoapEnvelope`], so a caller can try other readers (Autodiscover).
pub fn decode_response(bytes: &[u8]) -> Result<Value, EwsError> {
    let (server_version, content) = read_envelope(bytes, Limits::default())?;
    let version = version_json(server_version.as_ref());
    let response = match content {
        BodyContent::Fault(fault) => {
            return Ok(json!({
                "operation": "fault",
                "server_version": version,
                "fault": fault_json(&fault),
            }));
        }
        BodyContent::Response(el) => el,
    };
    let Some(operation) = response
        .name
        .strip_suffix("Response")
        .filter(|_| response.ns == NS_MESSAGES)
    else {
        return Err(EwsError::shape(
            format!(
                "{{{}}}{} is not an EWS operation response",
                response.ns, response.name
            ),
            "soap:Envelope/soap:Body",
        ));
    };
    let messages = response_messages(&response, operation)?
        .into_iter()
        .map(|m| message_json(operation, m))
        .collect::<Vec<_>>();
    Ok(json!({
        "operation": operation,
        "server_version": version,
        "messages": messages,
    }))
}

fn version_json(v: Option<&ServerVersionInfo>) -> Value {
    v.and_then(|v| serde_json::to_value(v).ok())
        .unwrap_or(Value::Null)
}

fn fault_json(f: &SoapFault) -> Value {
    let err = EwsError::Fault(Box::new(f.clone()));
    let mut out = Map::new();
    out.insert("fault_code".into(), json!(f.fault_code));
    out.insert("fault_string".into(), json!(f.fault_string));
    out.insert("code".into(), json!(f.code.as_str()));
    insert_opt(&mut out, "message", f.message.as_deref());
    insert_opt(
        &mut out,
        "inner_code",
        f.inner_code.as_ref().map(|c| c.as_str()),
    );
    if let Some(b) = f.back_off {
        out.insert("back_off_ms".into(), json!(b.as_millis() as u64));
    }
    out.insert("class".into(), json!(err.class().name()));
    Value::Object(out)
}

fn insert_opt(out: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        out.insert(key.into(), json!(v));
    }
}

fn message_json(operation: &str, message: &Element) -> Value {
    let mut out = Map::new();
    insert_opt(
        &mut out,
        "response_class",
        message.attr("ResponseClass").map(str::trim),
    );
    insert_opt(
        &mut out,
        "code",
        message.child_local("ResponseCode").map(Element::trimmed),
    );
    insert_opt(
        &mut out,
        "message_text",
        message.child_local("MessageText").map(Element::trimmed),
    );
    match message_status(message) {
        Err(e) => error_fields(&mut out, &e),
        Ok(()) => {
            if let Err(e) = payload(operation, message, &mut out) {
                error_fields(&mut out, &e);
            }
        }
    }
    Value::Object(out)
}

fn error_fields(out: &mut Map<String, Value>, e: &EwsError) {
    out.insert("class".into(), json!(e.class().name()));
    if let Some(b) = e.back_off() {
        out.insert("back_off_ms".into(), json!(b.as_millis() as u64));
    }
    insert_opt(out, "inner_code", e.inner_code().map(|c| c.as_str()));
    if !matches!(e, EwsError::Response(_)) {
        out.insert("error".into(), json!(e.to_string()));
    }
}

fn summaries(items: &[Item]) -> Value {
    Value::Array(
        items
            .iter()
            .filter_map(|i| serde_json::to_value(i.summary()).ok())
            .collect(),
    )
}

/// What a successful message carries, read with the operation's own reader.
fn payload(
    operation: &str,
    message: &Element,
    out: &mut Map<String, Value>,
) -> Result<(), EwsError> {
    use crate::operations::{
        find_folder, find_item, get_attachment, get_folder, sync_folder_items,
    };
    match operation {
        "GetItem" | "CreateItem" | "UpdateItem" | "MoveItem" | "CopyItem" => {
            let items = message
                .child(NS_MESSAGES, "Items")
                .map(Item::read_list)
                .unwrap_or_default();
            out.insert("items".into(), summaries(&items));
        }
        "FindItem" => {
            let page = find_item::read_page(message)?;
            out.insert("items".into(), summaries(&page.items));
            out.insert("page".into(), to_json(&page.page));
        }
        "SyncFolderItems" => {
            let r = sync_folder_items::read_result(message)?;
            out.insert("sync_state".into(), json!(r.sync_state.0));
            out.insert(
                "includes_last_item_in_range".into(),
                json!(r.includes_last_item_in_range),
            );
            let changes = r
                .changes
                .iter()
                .map(|c| {
                    use crate::operations::SyncChange::*;
                    match c {
                        Create(i) => json!({"change": "create", "item": to_json(&i.summary())}),
                        Update(i) => json!({"change": "update", "item": to_json(&i.summary())}),
                        Delete(id) => json!({"change": "delete", "item_id": to_json(id)}),
                        ReadFlagChange { item_id, is_read } => json!({
                            "change": "read_flag_change",
                            "item_id": to_json(item_id),
                            "is_read": is_read,
                        }),
                    }
                })
                .collect::<Vec<_>>();
            out.insert("changes".into(), Value::Array(changes));
        }
        "GetFolder" | "CreateFolder" => {
            let folder = get_folder::read_folder(message)?;
            out.insert("folders".into(), json!([to_json(&folder)]));
        }
        "FindFolder" => {
            let page = find_folder::read_page(message)?;
            out.insert("folders".into(), to_json(&page.folders));
            out.insert("page".into(), to_json(&page.page));
        }
        "GetAttachment" => {
            let a = get_attachment::read_attachment(message)?;
            let mut info = to_json(a.info());
            if let (Attachment::File { content, .. }, Value::Object(map)) = (&a, &mut info) {
                map.insert("content_bytes".into(), json!(content.as_bytes().len()));
            }
            out.insert("attachments".into(), json!([info]));
        }
        _ => {}
    }
    Ok(())
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{NS_SOAP, NS_TYPES};

    fn envelope(body: &str) -> String {
        format!(
            r#"<s:Envelope xmlns:s="{NS_SOAP}" xmlns:m="{NS_MESSAGES}" xmlns:t="{NS_TYPES}"><s:Header><t:ServerVersionInfo MajorVersion="15" MinorVersion="1"/></s:Header><s:Body>{body}</s:Body></s:Envelope>"#
        )
    }

    #[test]
    fn a_batch_decodes_each_message_with_its_class() {
        let doc = envelope(concat!(
            r#"<m:GetItemResponse><m:ResponseMessages>"#,
            r#"<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>"#,
            r#"<m:Items><t:Message><t:ItemId Id="A" ChangeKey="K"/><t:Subject>Hi</t:Subject><t:Body BodyType="Text">secret</t:Body></t:Message></m:Items></m:GetItemResponseMessage>"#,
            r#"<m:GetItemResponseMessage ResponseClass="Error"><m:MessageText>gone</m:MessageText><m:ResponseCode>ErrorItemNotFound</m:ResponseCode><m:Items/></m:GetItemResponseMessage>"#,
            r#"</m:ResponseMessages></m:GetItemResponse>"#
        ));
        let v = decode_response(doc.as_bytes()).unwrap();
        assert_eq!(v["operation"], "GetItem");
        assert_eq!(v["server_version"]["major_version"], 15);
        assert_eq!(v["messages"][0]["items"][0]["subject"], "Hi");
        assert_eq!(v["messages"][0]["items"][0]["item_id"]["change_key"], "K");
        assert_eq!(v["messages"][1]["code"], "ErrorItemNotFound");
        assert_eq!(v["messages"][1]["class"], "ItemLevel");
        assert!(!v.to_string().contains("secret"), "bodies stay out");
    }

    #[test]
    fn a_fault_decodes_as_operation_fault() {
        let doc = envelope(concat!(
            r#"<s:Fault><faultcode>a:ErrorServerBusy</faultcode><faultstring>busy</faultstring><detail>"#,
            r#"<e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode>"#,
            r#"<t:MessageXml><t:Value Name="BackOffMilliseconds">5000</t:Value></t:MessageXml></detail></s:Fault>"#
        ));
        let v = decode_response(doc.as_bytes()).unwrap();
        assert_eq!(v["operation"], "fault");
        assert_eq!(v["fault"]["code"], "ErrorServerBusy");
        assert_eq!(v["fault"]["back_off_ms"], 5000);
        assert_eq!(v["fault"]["class"], "Transient");
    }

    #[test]
    fn a_non_soap_document_is_distinguishable() {
        let err = decode_response(b"<Autodiscover xmlns=\"urn:x\"/>").unwrap_err();
        assert!(
            matches!(err, EwsError::NotSoapEnvelope { root_name, .. } if root_name == "Autodiscover")
        );
    }

    #[test]
    fn an_operation_without_a_reader_still_lists_its_messages() {
        let doc = envelope(concat!(
            r#"<m:SendItemResponse><m:ResponseMessages><m:SendItemResponseMessage ResponseClass="Success">"#,
            r#"<m:ResponseCode>NoError</m:ResponseCode></m:SendItemResponseMessage></m:ResponseMessages></m:SendItemResponse>"#
        ));
        let v = decode_response(doc.as_bytes()).unwrap();
        assert_eq!(v["operation"], "SendItem");
        assert_eq!(v["messages"][0]["code"], "NoError");
    }
}
