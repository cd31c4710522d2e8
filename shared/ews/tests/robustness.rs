//! Whatever bytes arrive, reading them ends in `Ok` or `Err`, never a panic: truncated and
//! mutated copies of real responses, HTML pages, unknown entities, codes and item kinds.

use exsync_ews::decode::decode_response;
use exsync_ews::envelope::{read_fault, read_response};
use exsync_ews::operations::{FindItem, GetAttachment, GetItem, SyncFolderItems};
use exsync_ews::types::Item;
use exsync_ews::xml::{Limits, NS_MESSAGES, NS_SOAP, NS_TYPES, XmlError};
use exsync_ews::{ErrorClass, EwsError, Operation, ResponseCode};
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Both readers of a response (the typed one, and the CLI's decoder), on the same bytes.
/// (`read_fault` shares the envelope reader with both.)
fn read_every_way<Op: Operation>(bytes: &[u8]) -> Result<(), EwsError> {
    let _ = decode_response(bytes);
    read_response::<Op>(bytes, Limits::default()).map(|_| ())
}

/// Reads every prefix of `name`: the whole document reads as `whole` says, and every
/// prefix that stops before the root element closes is malformed XML.
fn truncations<Op: Operation>(name: &str, whole: fn(&Result<(), EwsError>) -> bool) {
    let doc = fixture(name);
    let complete = doc.trim_ascii_end().len();
    let read = read_every_way::<Op>(&doc);
    assert!(whole(&read), "{name} read whole gave {read:?}");
    for len in 0..complete {
        let read = read_every_way::<Op>(&doc[..len]);
        assert!(
            matches!(read, Err(EwsError::Xml(_))),
            "{name} cut at byte {len} of {complete} gave {read:?}"
        );
    }
}

#[test]
fn every_truncation_of_a_sync_page_is_an_error() {
    truncations::<SyncFolderItems>("syncfolderitems-changes.xml", Result::is_ok);
}

#[test]
fn every_truncation_of_a_get_item_batch_is_an_error() {
    truncations::<GetItem>("getitem-batch-one-error.xml", Result::is_ok);
}

#[test]
fn every_truncation_of_an_attachment_is_an_error() {
    truncations::<GetAttachment>("getattachment-file.xml", Result::is_ok);
}

#[test]
fn a_truncated_fault_is_no_fault() {
    let doc = fixture("fault-server-busy.xml");
    assert!(read_fault(&doc).is_some());
    assert!(read_fault(&doc[..doc.len() / 2]).is_none());
}

#[test]
fn every_truncation_of_a_fault_is_an_error() {
    truncations::<GetItem>("fault-server-busy.xml", |r| {
        matches!(r, Err(EwsError::Fault(_)))
    });
}

/// Replaces each byte (at `stride`) by bytes that break XML in different ways.
fn mutations<Op: Operation>(name: &str, stride: usize) -> usize {
    let doc = fixture(name);
    let mut copy = doc.clone();
    let mut tried = 0;
    for i in (0..doc.len()).step_by(stride) {
        for b in [b'<', b'>', b'&', b'"', b'/', b':', b' ', 0x00, 0xC3, 0xFF] {
            copy[i] = b;
            let _ = read_every_way::<Op>(&copy);
            tried += 1;
        }
        copy[i] = doc[i];
    }
    tried
}

#[test]
fn mutated_sync_pages_never_panic() {
    assert!(mutations::<SyncFolderItems>("syncfolderitems-changes.xml", 2) > 10_000);
}

#[test]
fn mutated_batches_and_faults_never_panic() {
    let tried = mutations::<GetItem>("getitem-batch-one-error.xml", 7)
        + mutations::<GetItem>("internal-error-inner-server-busy.xml", 5)
        + mutations::<FindItem>("finditem-success.xml", 3)
        + mutations::<GetItem>("fault-server-busy.xml", 3);
    assert!(tried > 10_000);
}

fn envelope(body: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:s="{NS_SOAP}" xmlns:m="{NS_MESSAGES}" xmlns:t="{NS_TYPES}"><s:Body>{body}</s:Body></s:Envelope>"#
    )
}

fn get_item(messages: &str) -> Result<Vec<Result<Item, EwsError>>, EwsError> {
    let doc = envelope(&format!(
        "<m:GetItemResponse><m:ResponseMessages>{messages}</m:ResponseMessages></m:GetItemResponse>"
    ));
    read_response::<GetItem>(doc.as_bytes(), Limits::default()).map(|r| r.body)
}

#[test]
fn an_html_page_that_is_not_xml_is_malformed() {
    let err = read_response::<GetItem>(
        b"<html><body><p>Service Unavailable<br></body></html>",
        Limits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, EwsError::Xml(XmlError::Malformed { .. })),
        "{err:?}"
    );
}

#[test]
fn an_empty_body_is_an_empty_document() {
    let err = read_response::<GetItem>(b"", Limits::default()).unwrap_err();
    assert!(matches!(err, EwsError::Xml(XmlError::Empty)), "{err:?}");
}

#[test]
fn a_soap_1_2_envelope_is_not_a_soap_1_1_envelope() {
    let doc =
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>"#;
    let err = read_response::<GetItem>(doc.as_bytes(), Limits::default()).unwrap_err();
    assert!(
        matches!(&err, EwsError::NotSoapEnvelope { root_ns, .. } if root_ns.contains("2003/05")),
        "{err:?}"
    );
}

#[test]
fn an_envelope_without_a_body_is_an_unexpected_shape() {
    let doc = format!(r#"<s:Envelope xmlns:s="{NS_SOAP}"><s:Header/></s:Envelope>"#);
    assert!(matches!(
        read_response::<GetItem>(doc.as_bytes(), Limits::default()),
        Err(EwsError::UnexpectedShape { .. })
    ));
    let doc = format!(r#"<s:Envelope xmlns:s="{NS_SOAP}"><s:Body></s:Body></s:Envelope>"#);
    assert!(matches!(
        read_response::<GetItem>(doc.as_bytes(), Limits::default()),
        Err(EwsError::UnexpectedShape { .. })
    ));
}

#[test]
fn a_response_without_response_messages_is_an_unexpected_shape() {
    let doc = envelope("<m:GetItemResponse/>");
    assert!(matches!(
        read_response::<GetItem>(doc.as_bytes(), Limits::default()),
        Err(EwsError::UnexpectedShape { .. })
    ));
}

#[test]
fn another_operations_message_in_the_batch_is_an_unexpected_shape() {
    let r = get_item(
        r#"<m:CreateItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode></m:CreateItemResponseMessage>"#,
    );
    assert!(matches!(r, Err(EwsError::UnexpectedShape { .. })), "{r:?}");
}

#[test]
fn an_unknown_entity_such_as_nbsp_is_malformed_xml() {
    let r = get_item(
        r#"<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message><t:Subject>a&nbsp;b</t:Subject></t:Message></m:Items></m:GetItemResponseMessage>"#,
    );
    assert!(
        matches!(&r, Err(EwsError::Xml(XmlError::Malformed { message, .. })) if message.contains("nbsp")),
        "{r:?}"
    );
}

#[test]
fn an_entity_bomb_is_refused_before_expansion() {
    let doc = br#"<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><s>&b;</s>"#;
    assert!(matches!(
        read_response::<GetItem>(doc, Limits::default()),
        Err(EwsError::Xml(XmlError::Dtd { .. }))
    ));
}

#[test]
fn nesting_beyond_the_depth_limit_is_refused() {
    let deep = "<t:X>".repeat(500) + &"</t:X>".repeat(500);
    let r = get_item(&format!(
        r#"<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message>{deep}</t:Message></m:Items></m:GetItemResponseMessage>"#
    ));
    assert!(
        matches!(
            r,
            Err(EwsError::Xml(XmlError::TooLarge { what: "depth", .. }))
        ),
        "{r:?}"
    );
}

#[test]
fn a_made_up_code_is_kept_and_costs_only_its_item() {
    let r = get_item(
        r#"<m:GetItemResponseMessage ResponseClass="Error"><m:MessageText>?</m:MessageText><m:ResponseCode>ErrorExsyncNeverHeardOfThis</m:ResponseCode><m:Items/></m:GetItemResponseMessage>"#,
    )
    .unwrap();
    let err = r[0].as_ref().unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(&ResponseCode::Other("ErrorExsyncNeverHeardOfThis".into()))
    );
    assert_eq!(err.class(), ErrorClass::ItemLevel);
}

#[test]
fn a_made_up_code_in_a_fault_is_retried_later() {
    let doc = envelope(
        r#"<s:Fault><faultcode>a:ErrorExsyncNeverHeardOfThis</faultcode><faultstring>?</faultstring></s:Fault>"#,
    );
    let err = read_response::<GetItem>(doc.as_bytes(), Limits::default()).unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient { back_off: None });
}

#[test]
fn an_unknown_response_class_with_an_error_code_is_an_error() {
    let r = get_item(
        r#"<m:GetItemResponseMessage ResponseClass="Catastrophe"><m:ResponseCode>ErrorItemNotFound</m:ResponseCode></m:GetItemResponseMessage>"#,
    )
    .unwrap();
    assert!(r[0].is_err());
}

#[test]
fn a_message_with_neither_class_nor_code_is_an_unexpected_shape() {
    let r = get_item("<m:GetItemResponseMessage/>").unwrap();
    assert!(
        matches!(&r[0], Err(EwsError::UnexpectedShape { .. })),
        "{r:?}"
    );
}

#[test]
fn a_warning_with_no_error_is_a_success() {
    let r = get_item(
        r#"<m:GetItemResponseMessage ResponseClass="Warning"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message><t:ItemId Id="A"/></t:Message></m:Items></m:GetItemResponseMessage>"#,
    )
    .unwrap();
    assert!(r[0].is_ok());
}

#[test]
fn unknown_item_kinds_never_fail_a_document() {
    let r = get_item(
        r#"<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:SomethingFromExchange2030><t:ItemId Id="Z"/></t:SomethingFromExchange2030></m:Items></m:GetItemResponseMessage>"#,
    )
    .unwrap();
    assert!(matches!(
        r[0].as_ref().unwrap(),
        Item::Other { element, .. } if element == "SomethingFromExchange2030"
    ));
}

#[test]
fn a_success_without_its_item_is_an_unexpected_shape_for_that_item_only() {
    let r = get_item(concat!(
        r#"<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items/></m:GetItemResponseMessage>"#,
        r#"<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Task/></m:Items></m:GetItemResponseMessage>"#
    ))
    .unwrap();
    assert!(matches!(&r[0], Err(EwsError::UnexpectedShape { .. })));
    assert!(matches!(&r[1], Ok(Item::Task(_))));
}

#[test]
fn a_file_attachment_with_broken_base64_is_an_error_for_that_attachment() {
    let doc = envelope(concat!(
        r#"<m:GetAttachmentResponse><m:ResponseMessages><m:GetAttachmentResponseMessage ResponseClass="Success">"#,
        r#"<m:ResponseCode>NoError</m:ResponseCode><m:Attachments><t:FileAttachment><t:Name>x</t:Name>"#,
        r#"<t:Content>@@not base64@@</t:Content></t:FileAttachment></m:Attachments>"#,
        r#"</m:GetAttachmentResponseMessage></m:ResponseMessages></m:GetAttachmentResponse>"#
    ));
    let r = read_response::<GetAttachment>(doc.as_bytes(), Limits::default()).unwrap();
    assert!(matches!(&r.body[0], Err(EwsError::UnexpectedShape { .. })));
}

#[test]
fn a_malformed_attendee_is_skipped_and_the_rest_are_read() {
    // No Mailbox at all, a Mailbox holding only junk, a Mailbox without an address, an
    // empty list element, and two good ones: the item still reads, with every attendee
    // that has a Mailbox (the address check is the caller's).
    let r = get_item(
        r#"<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:CalendarItem><t:ItemId Id="C"/>
          <t:RequiredAttendees>
            <t:Attendee><t:ResponseType>Accept</t:ResponseType></t:Attendee>
            <t:Attendee><t:Mailbox><t:Junk><t:EmailAddress>deep@example.com</t:EmailAddress></t:Junk></t:Mailbox></t:Attendee>
            <t:Attendee><t:Mailbox><t:Name>No Address</t:Name></t:Mailbox></t:Attendee>
            <t:Attendee><t:Mailbox><t:Name>Bob</t:Name><t:EmailAddress>bob@example.com</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType></t:Mailbox><t:ResponseType>Bogus</t:ResponseType><t:LastResponseTime>not a time</t:LastResponseTime></t:Attendee>
            <t:NotAnAttendee/>
          </t:RequiredAttendees>
          <t:OptionalAttendees/>
        </t:CalendarItem></m:Items></m:GetItemResponseMessage>"#,
    )
    .unwrap();
    let Ok(Item::CalendarItem(c)) = &r[0] else {
        panic!("{r:?}");
    };
    let addresses: Vec<Option<&str>> = c
        .required_attendees
        .iter()
        .map(|a| a.mailbox.email_address.as_deref())
        .collect();
    assert_eq!(addresses, [None, None, Some("bob@example.com")]);
    assert_eq!(c.required_attendees[2].mailbox.name.as_deref(), Some("Bob"));
    assert!(c.optional_attendees.is_empty());
}
