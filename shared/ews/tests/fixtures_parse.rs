//! Reading the response examples Microsoft publishes (and the throttling and impersonation
//! shapes it documents without examples), from `tests/fixtures/`.

use exsync_ews::envelope::{Response, read_fault, read_response};
use exsync_ews::operations::{
    CreateItem, FindFolder, FindItem, GetAttachment, GetFolder, GetItem, SyncChange,
    SyncFolderItems,
};
use exsync_ews::types::{
    Attachment, BodyType, ExtendedFieldUri, ExtendedValue, Item, ItemId, LegacyFreeBusyStatus,
    MapiPropertyType, SyncState,
};
use exsync_ews::xml::Limits;
use exsync_ews::{ErrorClass, EwsError, Operation, ResponseCode};
use std::path::PathBuf;
use std::time::Duration;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn read<Op: Operation>(name: &str) -> Result<Response<Op::Response>, EwsError> {
    read_response::<Op>(&fixture(name), Limits::default())
}

#[test]
fn sync_folder_items_success_reports_state_and_a_meeting_request_as_other() {
    let r = read::<SyncFolderItems>("syncfolderitems-success.xml").unwrap();
    let v = r.server_version.unwrap();
    assert_eq!(
        (v.major_version, v.major_build_number),
        (Some(8), Some(628))
    );
    assert_eq!(r.body.sync_state, SyncState("H4sIAAAAA=".into()));
    assert!(r.body.includes_last_item_in_range);
    let [
        SyncChange::Create(Item::Other {
            element, item_id, ..
        }),
    ] = r.body.changes.as_slice()
    else {
        panic!("one created MeetingRequest expected: {:?}", r.body.changes)
    };
    assert_eq!(element, "MeetingRequest");
    assert_eq!(
        item_id,
        &Some(ItemId::with_change_key("AQApAHRwA==", "CwAAABYA"))
    );
}

#[test]
fn sync_folder_items_page_reads_every_change_kind() {
    let r = read::<SyncFolderItems>("syncfolderitems-changes.xml").unwrap();
    assert!(!r.body.includes_last_item_in_range);
    assert!(r.body.sync_state.0.starts_with("H4sIAAAAAAAEAO29"));
    let ids: Vec<String> = r
        .body
        .changes
        .iter()
        .map(|c| match c {
            SyncChange::Create(i) => format!("create {} {}", i.element_name(), id(i)),
            SyncChange::Update(i) => format!("update {} {}", i.element_name(), id(i)),
            SyncChange::Delete(d) => format!("delete {}", d.id),
            SyncChange::ReadFlagChange { item_id, is_read } => {
                format!("read {} {is_read}", item_id.id)
            }
        })
        .collect();
    assert_eq!(
        ids,
        [
            "create Message AAMkAG1",
            "create PostItem AAMkAG2",
            "update Message AAMkAG3",
            "delete AAMkAG4",
            "read AAMkAG5 false"
        ]
    );
    assert_eq!(
        r.server_version.and_then(|v| v.version).as_deref(),
        Some("V2_8")
    );
}

fn id(item: &Item) -> String {
    item.item_id().map(|i| i.id.clone()).unwrap_or_default()
}

#[test]
fn invalid_sync_state_asks_for_a_resync() {
    let err = read::<SyncFolderItems>("syncfolderitems-invalid-sync-state.xml").unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(&ResponseCode::ErrorInvalidSyncStateData)
    );
    assert_eq!(err.class(), ErrorClass::SyncStateInvalid);
}

#[test]
fn get_item_reads_a_message_with_its_escaped_html_body() {
    let r = read::<GetItem>("getitem-message.xml").unwrap();
    let [Ok(Item::Message(m))] = r.body.as_slice() else {
        panic!("one message expected: {:?}", r.body)
    };
    assert_eq!(
        m.item_id,
        Some(ItemId::with_change_key("AAAlAFVz", "CQAAAB"))
    );
    assert_eq!(m.subject.as_deref(), Some(""));
    let body = m.body.as_ref().unwrap();
    assert_eq!(body.body_type, BodyType::Html);
    assert!(body.text.starts_with("<html dir=\"ltr\">"));
    assert!(body.text.contains("&nbsp;"));
    assert_eq!(m.size, Some(881));
    assert_eq!(m.date_time_sent.unwrap().to_ews(), "2006-10-28T01:37:06Z");
    assert_eq!(m.has_attachments, Some(false));
    assert_eq!(
        m.to_recipients[0].email_address.as_deref(),
        Some("User1@example.com")
    );
    assert_eq!(m.from.as_ref().unwrap().name.as_deref(), Some("User2"));
    assert_eq!(m.is_read, Some(false));
    // The page's MIME sample was shortened and is no valid base64: dropped, not fatal.
    assert_eq!(m.mime_content, None);
}

#[test]
fn get_item_invalid_property_is_a_request_error() {
    let r = read::<GetItem>("getitem-invalid-property.xml").unwrap();
    let [Err(err)] = r.body.as_slice() else {
        panic!("one error expected")
    };
    assert_eq!(
        err.response_code(),
        Some(&ResponseCode::ErrorInvalidPropertyRequest)
    );
    assert_eq!(err.class(), ErrorClass::Request);
}

#[test]
fn a_batch_with_one_missing_item_keeps_the_others() {
    let r = read::<GetItem>("getitem-batch-one-error.xml").unwrap();
    assert_eq!(r.body.len(), 3);
    let Ok(Item::Message(m)) = &r.body[0] else {
        panic!("first: a message")
    };
    assert_eq!(
        m.internet_message_id.as_deref(),
        Some("<1234@mx1.example.com>")
    );
    assert_eq!(m.references.as_deref(), Some("<1000@mx1.example.com>"));
    assert_eq!(m.internet_message_headers.len(), 2);
    assert_eq!(m.internet_message_headers[1].name, "X-Mailer");
    assert_eq!(
        m.conversation_index.as_ref().map(|c| c.as_bytes().len()),
        Some(9)
    );
    assert_eq!(m.extended_properties.len(), 1);
    assert_eq!(
        m.extended_properties[0].field_uri,
        ExtendedFieldUri::tag(0x1081, MapiPropertyType::Integer)
    );
    assert_eq!(
        m.extended_properties[0].value,
        ExtendedValue::Single("102".into())
    );

    let Err(err) = &r.body[1] else {
        panic!("second: an error")
    };
    assert_eq!(err.response_code(), Some(&ResponseCode::ErrorItemNotFound));
    assert_eq!(err.class(), ErrorClass::ItemLevel);

    let Ok(Item::CalendarItem(c)) = &r.body[2] else {
        panic!("third: a calendar item")
    };
    assert_eq!(c.legacy_free_busy_status, Some(LegacyFreeBusyStatus::Busy));
    assert_eq!(c.required_attendees.len(), 1);
    assert_eq!(
        c.organizer
            .as_ref()
            .and_then(|o| o.email_address.as_deref()),
        Some("ann@example.com")
    );
    let v = r.server_version.unwrap();
    assert_eq!(v.version.as_deref(), Some("Exchange2010_SP2"));
}

#[test]
fn find_item_reads_ids_and_paging() {
    let r = read::<FindItem>("finditem-success.xml").unwrap();
    let [Ok(page)] = r.body.as_slice() else {
        panic!("one page expected")
    };
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        page.items[1].item_id(),
        Some(&ItemId::with_change_key("AS4AUM=", "fsVUA=="))
    );
    assert_eq!(page.page.total_items_in_view, Some(10));
    assert!(page.page.includes_last_item_in_range);
}

#[test]
fn the_documentation_https_namespaces_are_refused_as_the_wrong_namespace() {
    let err = read::<FindItem>("finditem-https-namespace-doc-bug.xml").unwrap_err();
    let EwsError::UnexpectedShape { what, .. } = &err else {
        panic!("shape error expected: {err:?}")
    };
    assert!(what.contains("https://schemas.microsoft.com"), "{what}");
    assert!(matches!(err.class(), ErrorClass::Transient { .. }));
}

#[test]
fn create_item_without_a_saved_copy_reports_no_id() {
    let r = read::<CreateItem>("createitem-success.xml").unwrap();
    assert_eq!(r.body.len(), 1);
    assert_eq!(r.body[0].as_ref().unwrap(), &None);
}

#[test]
fn create_item_send_as_denied_costs_only_that_item() {
    let r = read::<CreateItem>("createitem-send-as-denied.xml").unwrap();
    let err = r.body[0].as_ref().unwrap_err();
    assert_eq!(err.response_code(), Some(&ResponseCode::ErrorSendAsDenied));
    assert_eq!(err.class(), ErrorClass::ItemLevel);
}

#[test]
fn get_folder_reads_the_inbox_counts() {
    let r = read::<GetFolder>("getfolder-success.xml").unwrap();
    let folder = r.body[0].as_ref().unwrap();
    assert_eq!(folder.display_name.as_deref(), Some("Inbox"));
    assert_eq!(
        (
            folder.total_count,
            folder.child_folder_count,
            folder.unread_count
        ),
        (Some(2), Some(0), Some(2))
    );
    assert_eq!(
        folder.folder_id.as_ref().map(|f| f.id.as_str()),
        Some("AQApA=")
    );
}

#[test]
fn find_folder_reads_subfolders_and_paging() {
    let r = read::<FindFolder>("findfolder-success.xml").unwrap();
    let page = r.body[0].as_ref().unwrap();
    assert_eq!(page.folders.len(), 1);
    assert_eq!(page.folders[0].display_name.as_deref(), Some("TestFolder"));
    assert_eq!(page.page.total_items_in_view, Some(1));
}

#[test]
fn too_many_objects_opened_is_transient_though_the_schema_lacks_it() {
    let r = read::<FindFolder>("findfolder-too-many-objects-opened.xml").unwrap();
    let err = r.body[0].as_ref().unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(&ResponseCode::ErrorTooManyObjectsOpened)
    );
    assert_eq!(err.class(), ErrorClass::Transient { back_off: None });
}

#[test]
fn get_attachment_decodes_file_content() {
    let r = read::<GetAttachment>("getattachment-file.xml").unwrap();
    let Ok(Attachment::File { info, content }) = &r.body[0] else {
        panic!("a file attachment expected")
    };
    assert_eq!(info.name.as_deref(), Some("SomeFile"));
    assert_eq!(content.as_bytes(), &[1, 2, 3, 4, 5]);
}

#[test]
fn server_busy_fault_carries_its_back_off() {
    let err = read::<GetItem>("fault-server-busy.xml").unwrap_err();
    assert_eq!(err.response_code(), Some(&ResponseCode::ErrorServerBusy));
    assert_eq!(err.back_off(), Some(Duration::from_millis(29250)));
    assert_eq!(
        err.class(),
        ErrorClass::Transient {
            back_off: Some(Duration::from_millis(29250))
        }
    );
    let EwsError::Fault(f) = &err else {
        panic!("a fault")
    };
    assert_eq!(f.fault_code, "a:ErrorServerBusy");
}

#[test]
fn a_fault_reads_the_same_whatever_operation_was_expected() {
    let body = fixture("fault-server-busy.xml");
    let direct = read_fault(&body).expect("a fault");
    let via_sync = read_response::<SyncFolderItems>(&body, Limits::default()).unwrap_err();
    assert_eq!(direct.response_code(), via_sync.response_code());
    assert_eq!(direct.back_off(), via_sync.back_off());
}

#[test]
fn internal_error_with_inner_server_busy_is_throttling() {
    let r = read::<GetItem>("internal-error-inner-server-busy.xml").unwrap();
    let err = r.body[0].as_ref().unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(&ResponseCode::ErrorInternalServerError)
    );
    assert_eq!(err.inner_code(), Some(&ResponseCode::ErrorServerBusy));
    assert_eq!(
        err.class(),
        ErrorClass::Transient {
            back_off: Some(Duration::from_millis(5000))
        }
    );
    assert!(
        r.body[1].is_ok(),
        "the other item of the batch still arrives"
    );
    assert_eq!(r.server_version.unwrap().major_version, Some(15));
}

#[test]
fn impersonation_denied_as_a_fault_disables_the_mailbox() {
    let err = read::<SyncFolderItems>("impersonate-user-denied-fault.xml").unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(&ResponseCode::ErrorImpersonateUserDenied)
    );
    assert_eq!(err.class(), ErrorClass::MailboxPermanent);
}

#[test]
fn impersonation_denied_as_a_message_disables_the_mailbox() {
    let err = read::<SyncFolderItems>("impersonate-user-denied-message.xml").unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(&ResponseCode::ErrorImpersonateUserDenied)
    );
    assert_eq!(err.class(), ErrorClass::MailboxPermanent);
}

#[test]
fn an_html_error_page_is_not_a_soap_envelope() {
    let err = read::<GetItem>("html-error-page.html").unwrap_err();
    assert!(
        matches!(&err, EwsError::NotSoapEnvelope { root_name, .. } if root_name == "html"),
        "{err:?}"
    );
    assert!(matches!(err.class(), ErrorClass::Transient { .. }));
}

#[test]
fn decode_names_the_operation_and_classes_of_a_published_example() {
    let v = exsync_ews::decode::decode_response(&fixture("getitem-batch-one-error.xml")).unwrap();
    assert_eq!(v["operation"], "GetItem");
    assert_eq!(v["messages"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        v["messages"][0]["items"][0]["internet_message_id"],
        "<1234@mx1.example.com>"
    );
    assert_eq!(v["messages"][1]["class"], "ItemLevel");
    assert_eq!(v["messages"][2]["items"][0]["kind"], "CalendarItem");
    let v = exsync_ews::decode::decode_response(&fixture("syncfolderitems-changes.xml")).unwrap();
    assert_eq!(v["messages"][0]["includes_last_item_in_range"], false);
    assert_eq!(v["messages"][0]["changes"][3]["change"], "delete");
}
