//! GetItem shapes, UpdateItem, DeleteItem, MoveItem/CopyItem, GetAttachment, and creating
//! calendar items, contacts and tasks.

mod ews_support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ews_support::*;
use exsync_ews_sim::ews::{IncomingMessage, ItemUpdate};
use exsync_ews_sim::store::{
    DistinguishedFolder, EmailAddress, ExtendedProperty, ItemId, NewAttachment, PropertyKey,
};

fn delivered(h: &Harness) -> ItemId {
    h.exchange
        .deliver(
            ALICE,
            IncomingMessage {
                from: EmailAddress::named("Dave Dunn", "dave@fabrikam.test"),
                to: vec![EmailAddress::named("Alice Anders", ALICE)],
                cc: vec![EmailAddress::new(BOB)],
                subject: "Invoice 7".into(),
                body_text: Some("Please pay.".into()),
                body_html: Some("<p>Please <b>pay</b>.</p>".into()),
                message_id: Some("<inv7@fabrikam.test>".into()),
                in_reply_to: Some("<inv6@fabrikam.test>".into()),
                attachments: vec![NewAttachment {
                    name: "invoice.pdf".into(),
                    content_type: "application/pdf".into(),
                    content_id: None,
                    is_inline: false,
                    content: b"%PDF-1.4 fake".to_vec(),
                }],
                extended_properties: vec![ExtendedProperty::string(
                    PropertyKey::public_string("CrmId"),
                    "crm-7",
                )],
                ..Default::default()
            },
        )
        .unwrap()
}

#[test]
fn id_only_returns_just_the_id_and_change_key() {
    let h = Harness::new();
    let id = delivered(&h);
    let reply = h.as_svc(ALICE, &get_item(id.as_str(), "IdOnly", ""));
    assert_eq!(codes(&reply), ["NoError"]);
    assert_eq!(child_names(&reply.body, "Message"), ["ItemId"]);
}

#[test]
fn default_shape_returns_the_usual_message_properties_in_schema_order() {
    let h = Harness::new();
    let id = delivered(&h);
    let reply = h.as_svc(ALICE, &get_item(id.as_str(), "Default", ""));
    let names = child_names(&reply.body, "Message");
    for expected in [
        "ItemId",
        "Subject",
        "Body",
        "Attachments",
        "DateTimeReceived",
        "HasAttachments",
        "From",
        "ToRecipients",
        "CcRecipients",
        "IsRead",
    ] {
        assert!(
            names.contains(&expected.to_owned()),
            "{expected} missing from {names:?}"
        );
    }
    let position = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(position("ItemId") < position("Subject"));
    assert!(position("HasAttachments") < position("ToRecipients"));
    assert!(position("From") < position("IsRead"));
}

#[test]
fn all_properties_include_threading_headers_but_not_extended_properties() {
    let h = Harness::new();
    let id = delivered(&h);
    let reply = h.as_svc(ALICE, &get_item(id.as_str(), "AllProperties", ""));
    assert_eq!(
        text(&reply.body, "InternetMessageId").as_deref(),
        Some("<inv7@fabrikam.test>")
    );
    assert_eq!(
        text(&reply.body, "InReplyTo").as_deref(),
        Some("<inv6@fabrikam.test>")
    );
    assert_eq!(
        text(&reply.body, "References").as_deref(),
        Some("<inv6@fabrikam.test>")
    );
    assert!(text(&reply.body, "ConversationIndex").is_some());
    assert!(!reply.body.contains("ExtendedProperty"));
    assert!(!reply.body.contains("MimeContent"));
}

#[test]
fn an_extended_property_is_returned_when_asked_for_by_set_and_name() {
    let h = Harness::new();
    let id = delivered(&h);
    let uri = r#"<t:ExtendedFieldURI PropertySetId="00020329-0000-0000-C000-000000000046" PropertyName="CrmId" PropertyType="String"/>"#;
    let reply = h.as_svc(ALICE, &get_item(id.as_str(), "IdOnly", uri));
    assert_eq!(texts(&reply.body, "Value"), ["crm-7"]);
    // Stored by distinguished set, asked for by the same set's GUID: the same property.
    assert_eq!(
        attrs(&reply.body, "ExtendedFieldURI", "PropertyName"),
        ["CrmId"]
    );
}

#[test]
fn body_type_text_and_html_convert_and_best_prefers_html() {
    let h = Harness::new();
    let id = delivered(&h);
    let shape = |body_type: &str| {
        format!(
            r#"<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:BodyType>{body_type}</t:BodyType><t:AdditionalProperties><t:FieldURI FieldURI="item:Body"/></t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="{id}"/></m:ItemIds></m:GetItem>"#
        )
    };
    let text_reply = h.as_svc(ALICE, &shape("Text"));
    assert_eq!(attrs(&text_reply.body, "Body", "BodyType"), ["Text"]);
    assert_eq!(
        text(&text_reply.body, "Body").as_deref(),
        Some("Please pay.")
    );
    let best = h.as_svc(ALICE, &shape("Best"));
    assert_eq!(attrs(&best.body, "Body", "BodyType"), ["HTML"]);
    assert_eq!(
        text(&best.body, "Body").as_deref(),
        Some("<p>Please <b>pay</b>.</p>")
    );

    let plain = h
        .exchange
        .deliver(
            ALICE,
            IncomingMessage {
                from: EmailAddress::new("a@b.test"),
                subject: "p".into(),
                body_text: Some("a < b".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let as_html = h.as_svc(ALICE, &shape("HTML").replace(id.as_str(), plain.as_str()));
    assert_eq!(attrs(&as_html.body, "Body", "BodyType"), ["HTML"]);
    assert!(text(&as_html.body, "Body").unwrap().contains("a &lt; b"));
}

#[test]
fn mime_content_is_an_rfc_5322_message_with_the_threading_headers_and_attachment() {
    let h = Harness::new();
    let id = delivered(&h);
    let reply = h.as_svc(
        ALICE,
        &get_item(
            id.as_str(),
            "IdOnly",
            r#"<t:FieldURI FieldURI="item:MimeContent"/>"#,
        ),
    );
    let mime = B64
        .decode(text(&reply.body, "MimeContent").unwrap())
        .unwrap();
    let mime = String::from_utf8(mime).unwrap();
    for needle in [
        "From: \"Dave Dunn\" <dave@fabrikam.test>\r\n",
        "To: \"Alice Anders\" <alice@contoso.test>\r\n",
        "CC: bob@contoso.test\r\n",
        "Subject: Invoice 7\r\n",
        "Message-ID: <inv7@fabrikam.test>\r\n",
        "In-Reply-To: <inv6@fabrikam.test>\r\n",
        "References: <inv6@fabrikam.test>\r\n",
        "Thread-Index: ",
        "Content-Type: multipart/mixed;",
        "Content-Type: multipart/alternative;",
        "name=\"invoice.pdf\"",
    ] {
        assert!(mime.contains(needle), "{needle:?} missing in\n{mime}");
    }
}

#[test]
fn include_mime_content_in_the_shape_also_returns_it() {
    let h = Harness::new();
    let id = delivered(&h);
    let op = format!(
        r#"<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent></m:ItemShape><m:ItemIds><t:ItemId Id="{id}"/></m:ItemIds></m:GetItem>"#
    );
    assert_eq!(
        child_names(&h.as_svc(ALICE, &op).body, "Message"),
        ["MimeContent", "ItemId"]
    );
}

#[test]
fn internet_message_headers_list_the_real_headers() {
    let h = Harness::new();
    let id = delivered(&h);
    let reply = h.as_svc(
        ALICE,
        &get_item(
            id.as_str(),
            "IdOnly",
            r#"<t:FieldURI FieldURI="item:InternetMessageHeaders"/>"#,
        ),
    );
    let names = attrs(&reply.body, "InternetMessageHeader", "HeaderName");
    for expected in [
        "From",
        "To",
        "CC",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Thread-Index",
    ] {
        assert!(
            names.contains(&expected.to_owned()),
            "{expected} missing from {names:?}"
        );
    }
}

#[test]
fn get_item_answers_each_id_in_order_without_failing_the_batch() {
    let h = Harness::new();
    let id = delivered(&h);
    let gone = delivered(&h);
    h.exchange.delete_item(ALICE, &gone).unwrap();
    let op = format!(
        r#"<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="garbage"/><t:ItemId Id="{id}"/><t:ItemId Id="{gone}"/><t:ItemId Id=""/></m:ItemIds></m:GetItem>"#
    );
    let reply = h.as_svc(ALICE, &op);
    assert_eq!(
        codes(&reply),
        [
            "ErrorInvalidIdMalformed",
            "NoError",
            "ErrorItemNotFound",
            "ErrorInvalidIdEmpty"
        ]
    );
    assert_eq!(doc_codes(&reply), codes(&reply));
}

#[test]
fn get_attachment_returns_the_content() {
    let h = Harness::new();
    let id = delivered(&h);
    let item = h.as_svc(
        ALICE,
        &get_item(
            id.as_str(),
            "IdOnly",
            r#"<t:FieldURI FieldURI="item:Attachments"/>"#,
        ),
    );
    let attachment = attrs(&item.body, "AttachmentId", "Id").remove(0);
    assert_eq!(texts(&item.body, "Name"), ["invoice.pdf"]);
    let op = format!(
        r#"<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="{attachment}"/><t:AttachmentId Id="nope"/></m:AttachmentIds></m:GetAttachment>"#
    );
    let reply = h.as_svc(ALICE, &op);
    assert_eq!(codes(&reply), ["NoError", "ErrorInvalidAttachmentId"]);
    assert_eq!(
        B64.decode(text(&reply.body, "Content").unwrap()).unwrap(),
        b"%PDF-1.4 fake"
    );
}

fn set_subject(id: &str, change_key: &str, conflict: &str, subject: &str) -> String {
    format!(
        r#"<m:UpdateItem ConflictResolution="{conflict}" MessageDisposition="SaveOnly"><m:ItemChanges><t:ItemChange><t:ItemId Id="{id}" ChangeKey="{change_key}"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>{subject}</t:Subject></t:Message></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"#
    )
}

#[test]
fn update_item_changes_the_field_and_the_change_key() {
    let h = Harness::new();
    let id = delivered(&h);
    let (_, before) = first_item_id(&h.as_svc(ALICE, &get_item(id.as_str(), "IdOnly", "")));
    let reply = h.as_svc(
        ALICE,
        &set_subject(id.as_str(), &before, "NeverOverwrite", "Paid"),
    );
    assert_eq!(codes(&reply), ["NoError"], "{}", reply.body);
    let (same_id, after) = first_item_id(&reply);
    assert_eq!(same_id, id.as_str());
    assert_ne!(after, before);
    assert_eq!(text(&reply.body, "Count").as_deref(), Some("0"));
    let got = h.as_svc(ALICE, &get_item(id.as_str(), "Default", ""));
    assert_eq!(text(&got.body, "Subject").as_deref(), Some("Paid"));
}

#[test]
fn a_stale_change_key_with_never_overwrite_is_an_irresolvable_conflict() {
    let h = Harness::new();
    let id = delivered(&h);
    let (_, stale) = first_item_id(&h.as_svc(ALICE, &get_item(id.as_str(), "IdOnly", "")));
    h.exchange.set_read(ALICE, &id, true).unwrap();
    let reply = h.as_svc(
        ALICE,
        &set_subject(id.as_str(), &stale, "NeverOverwrite", "Mine"),
    );
    assert_eq!(codes(&reply), ["ErrorIrresolvableConflict"]);
    let got = h.as_svc(ALICE, &get_item(id.as_str(), "Default", ""));
    assert_eq!(text(&got.body, "Subject").as_deref(), Some("Invoice 7"));
    let overwrite = h.as_svc(
        ALICE,
        &set_subject(id.as_str(), &stale, "AlwaysOverwrite", "Mine"),
    );
    assert_eq!(codes(&overwrite), ["NoError"]);
}

#[test]
fn update_item_sets_appends_and_deletes_including_extended_properties() {
    let h = Harness::new();
    let id = delivered(&h);
    let op = format!(
        r#"<m:UpdateItem ConflictResolution="AlwaysOverwrite" MessageDisposition="SaveOnly"><m:ItemChanges><t:ItemChange><t:ItemId Id="{id}"/><t:Updates>
          <t:SetItemField>{uri}<t:Message><t:ExtendedProperty>{uri}<t:Value>act-77</t:Value></t:ExtendedProperty></t:Message></t:SetItemField>
          <t:AppendToItemField><t:FieldURI FieldURI="message:CcRecipients"/><t:Message><t:CcRecipients><t:Mailbox><t:EmailAddress>carol@contoso.test</t:EmailAddress></t:Mailbox></t:CcRecipients></t:Message></t:AppendToItemField>
          <t:DeleteItemField><t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="CrmId" PropertyType="String"/></t:DeleteItemField>
          <t:SetItemField><t:FieldURI FieldURI="message:IsRead"/><t:Message><t:IsRead>true</t:IsRead></t:Message></t:SetItemField>
        </t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"#,
        uri = exsync_uri()
    );
    assert_eq!(codes(&h.as_svc(ALICE, &op)), ["NoError"]);
    let summary = h.exchange.items(ALICE, DistinguishedFolder::Inbox).unwrap();
    let item = summary.iter().find(|s| s.id == id).unwrap();
    assert!(item.is_read);
    assert_eq!(
        item.cc
            .iter()
            .map(|a| a.address.as_str())
            .collect::<Vec<_>>(),
        [BOB, CAROL]
    );
    assert_eq!(item.extended_properties.len(), 1);
    assert_eq!(item.extended_properties[0].single(), Some("act-77"));
}

#[test]
fn setting_a_read_only_property_fails_that_change_only() {
    let h = Harness::new();
    let id = delivered(&h);
    let other = delivered(&h);
    let change = |id: &ItemId, field: &str, element: &str| {
        format!(
            r#"<t:ItemChange><t:ItemId Id="{id}"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="{field}"/><t:Message>{element}</t:Message></t:SetItemField></t:Updates></t:ItemChange>"#
        )
    };
    let op = format!(
        r#"<m:UpdateItem ConflictResolution="AutoResolve" MessageDisposition="SaveOnly"><m:ItemChanges>{}{}</m:ItemChanges></m:UpdateItem>"#,
        change(
            &id,
            "item:DateTimeReceived",
            "<t:DateTimeReceived>2020-01-01T00:00:00Z</t:DateTimeReceived>"
        ),
        change(&other, "item:Subject", "<t:Subject>ok</t:Subject>")
    );
    let reply = h.as_svc(ALICE, &op);
    assert_eq!(codes(&reply), ["ErrorInvalidPropertySet", "NoError"]);
}

#[test]
fn delete_item_moves_to_deleted_items_or_removes_for_good() {
    let h = Harness::new();
    let soft = delivered(&h);
    let hard = delivered(&h);
    let delete = |id: &ItemId, kind: &str| {
        format!(
            r#"<m:DeleteItem DeleteType="{kind}"><m:ItemIds><t:ItemId Id="{id}"/></m:ItemIds></m:DeleteItem>"#
        )
    };
    assert_eq!(
        codes(&h.as_svc(ALICE, &delete(&soft, "MoveToDeletedItems"))),
        ["NoError"]
    );
    assert_eq!(
        codes(&h.as_svc(ALICE, &delete(&hard, "HardDelete"))),
        ["NoError"]
    );
    assert_eq!(
        h.exchange
            .item_count(ALICE, DistinguishedFolder::DeletedItems)
            .unwrap(),
        1
    );
    assert_eq!(
        h.exchange
            .item_count(ALICE, DistinguishedFolder::Inbox)
            .unwrap(),
        1
    );
    assert_eq!(
        codes(&h.as_svc(ALICE, &delete(&hard, "HardDelete"))),
        ["ErrorItemNotFound"]
    );
    // The moved item has a new id; the old one names nothing.
    assert_eq!(
        codes(&h.as_svc(ALICE, &get_item(soft.as_str(), "IdOnly", ""))),
        ["ErrorItemNotFound"]
    );
}

#[test]
fn move_item_returns_the_new_id_and_copy_item_keeps_the_original() {
    let h = Harness::new();
    let id = delivered(&h);
    let op = |verb: &str, id: &ItemId| {
        format!(
            r#"<m:{verb}><m:ToFolderId>{}</m:ToFolderId><m:ItemIds><t:ItemId Id="{id}"/></m:ItemIds></m:{verb}>"#,
            dfolder("junkemail", None)
        )
    };
    let copied = h.as_svc(ALICE, &op("CopyItem", &id));
    assert_eq!(codes(&copied), ["NoError"]);
    let moved = h.as_svc(ALICE, &op("MoveItem", &id));
    assert_eq!(codes(&moved), ["NoError"]);
    let (new_id, _) = first_item_id(&moved);
    assert_ne!(new_id, id.as_str());
    assert_eq!(
        h.exchange
            .item_count(ALICE, DistinguishedFolder::JunkEmail)
            .unwrap(),
        2
    );
    assert_eq!(
        h.exchange
            .item_count(ALICE, DistinguishedFolder::Inbox)
            .unwrap(),
        1
    );
    let got = h.as_svc(ALICE, &get_item(&new_id, "Default", ""));
    assert_eq!(text(&got.body, "Subject").as_deref(), Some("Invoice 7"));
}

#[test]
fn calendar_items_contacts_and_tasks_go_to_their_folders() {
    let h = Harness::new();
    let op = format!(
        r#"<m:CreateItem SendMeetingInvitations="SendToAllAndSaveCopy"><m:Items>
          <t:CalendarItem><t:Subject>Review</t:Subject><t:Start>2024-06-03T09:00:00Z</t:Start><t:End>2024-06-03T10:00:00Z</t:End><t:Location>Room 1</t:Location><t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>{BOB}</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees></t:CalendarItem>
          <t:Contact><t:DisplayName>Erin Eck</t:DisplayName><t:GivenName>Erin</t:GivenName><t:EmailAddresses><t:Entry Key="EmailAddress1">erin@fabrikam.test</t:Entry></t:EmailAddresses><t:Surname>Eck</t:Surname></t:Contact>
          <t:Task><t:Subject>File taxes</t:Subject><t:DueDate>2024-06-30T00:00:00Z</t:DueDate><t:Status>InProgress</t:Status></t:Task>
        </m:Items></m:CreateItem>"#
    );
    let reply = h.as_svc(ALICE, &op);
    assert_eq!(codes(&reply), ["NoError"; 3], "{}", reply.body);
    assert_eq!(child_names(&reply.body, "Items").len(), 1);
    let ids = attrs(&reply.body, "ItemId", "Id");
    let calendar = h.as_svc(ALICE, &get_item(&ids[0], "AllProperties", ""));
    assert_eq!(text(&calendar.body, "Location").as_deref(), Some("Room 1"));
    assert_eq!(text(&calendar.body, "IsMeeting").as_deref(), Some("true"));
    assert_eq!(
        h.exchange
            .item_count(BOB, DistinguishedFolder::Calendar)
            .unwrap(),
        1
    );
    let contact = h.as_svc(ALICE, &get_item(&ids[1], "AllProperties", ""));
    assert_eq!(texts(&contact.body, "Entry"), ["erin@fabrikam.test"]);
    let task = h.as_svc(ALICE, &get_item(&ids[2], "AllProperties", ""));
    assert_eq!(text(&task.body, "Status").as_deref(), Some("InProgress"));
    assert_eq!(
        h.exchange
            .item_count(ALICE, DistinguishedFolder::Tasks)
            .unwrap(),
        1
    );
    assert_eq!(
        h.exchange
            .item_count(ALICE, DistinguishedFolder::Contacts)
            .unwrap(),
        1
    );
}

fn sync_calendar(h: &Harness, state: Option<&str>) -> (String, Vec<String>, Vec<String>) {
    let state = state
        .map(|s| format!("<m:SyncState>{s}</m:SyncState>"))
        .unwrap_or_default();
    let reply = h.as_svc(
        ALICE,
        &format!(
            "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId>{}</m:SyncFolderId>{state}<m:MaxChangesReturned>100</m:MaxChangesReturned></m:SyncFolderItems>",
            dfolder("calendar", None)
        ),
    );
    assert_eq!(codes(&reply), ["NoError"], "{}", reply.body);
    let doc = roxmltree::Document::parse(&reply.body).unwrap();
    let ids_under = |kind: &str| -> Vec<String> {
        doc.descendants()
            .filter(|n| n.is_element() && n.tag_name().name() == kind)
            .flat_map(|n| n.descendants())
            .filter(|n| n.is_element() && n.tag_name().name() == "ItemId")
            .filter_map(|n| n.attribute("Id").map(str::to_owned))
            .collect()
    };
    let (creates, updates) = (ids_under("Create"), ids_under("Update"));
    (text(&reply.body, "SyncState").unwrap(), creates, updates)
}

/// `(address, name)` of each attendee under `list` (`RequiredAttendees`, `OptionalAttendees`).
fn attendees(xml: &str, list: &str) -> Vec<(String, String)> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let child = |n: roxmltree::Node, name: &str| {
        n.descendants()
            .find(|c| c.is_element() && c.tag_name().name() == name)
            .and_then(|c| c.text())
            .unwrap_or_default()
            .to_owned()
    };
    doc.descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == list)
        .flat_map(|n| n.children().filter(|c| c.is_element()))
        .map(|a| (child(a, "EmailAddress"), child(a, "Name")))
        .collect()
}

const ATTENDEE_PROPS: &str = r#"<t:FieldURI FieldURI="calendar:RequiredAttendees"/><t:FieldURI FieldURI="calendar:OptionalAttendees"/>"#;

#[test]
fn attendees_round_trip_through_create_update_get_and_sync_without_telling_anyone() {
    let h = Harness::new();
    let (state, _, _) = sync_calendar(&h, None);
    let created = h.as_svc(
        ALICE,
        &format!(
            r#"<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>Review</t:Subject><t:Start>2024-06-03T09:00:00Z</t:Start><t:End>2024-06-03T10:00:00Z</t:End>
              <t:RequiredAttendees><t:Attendee><t:Mailbox><t:Name>Bob Berg</t:Name><t:EmailAddress>{BOB}</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType></t:Mailbox></t:Attendee></t:RequiredAttendees>
              <t:OptionalAttendees><t:Attendee><t:Mailbox><t:EmailAddress>erin@fabrikam.test</t:EmailAddress></t:Mailbox></t:Attendee></t:OptionalAttendees>
            </t:CalendarItem></m:Items></m:CreateItem>"#
        ),
    );
    assert_eq!(codes(&created), ["NoError"], "{}", created.body);
    let (id, _) = first_item_id(&created);
    let got = h.as_svc(ALICE, &get_item(&id, "AllProperties", ATTENDEE_PROPS));
    assert_eq!(
        attendees(&got.body, "RequiredAttendees"),
        [(BOB.to_owned(), "Bob Berg".to_owned())]
    );
    assert_eq!(
        attendees(&got.body, "OptionalAttendees"),
        [("erin@fabrikam.test".to_owned(), String::new())]
    );
    let (state, creates, _) = sync_calendar(&h, Some(&state));
    assert_eq!(creates, std::slice::from_ref(&id));

    let (_, change_key) = first_item_id(&got);
    let updated = h.as_svc(
        ALICE,
        &format!(
            r#"<m:UpdateItem ConflictResolution="AutoResolve" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="{id}" ChangeKey="{change_key}"/><t:Updates>
              <t:SetItemField><t:FieldURI FieldURI="calendar:RequiredAttendees"/><t:CalendarItem><t:RequiredAttendees>
                <t:Attendee><t:Mailbox><t:EmailAddress>{BOB}</t:EmailAddress></t:Mailbox></t:Attendee>
                <t:Attendee><t:Mailbox><t:Name>Carol</t:Name><t:EmailAddress>{CAROL}</t:EmailAddress></t:Mailbox></t:Attendee>
              </t:RequiredAttendees></t:CalendarItem></t:SetItemField>
              <t:DeleteItemField><t:FieldURI FieldURI="calendar:OptionalAttendees"/></t:DeleteItemField>
            </t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"#
        ),
    );
    assert_eq!(codes(&updated), ["NoError"], "{}", updated.body);
    let got = h.as_svc(ALICE, &get_item(&id, "AllProperties", ATTENDEE_PROPS));
    assert_eq!(
        attendees(&got.body, "RequiredAttendees"),
        [
            (BOB.to_owned(), String::new()),
            (CAROL.to_owned(), "Carol".to_owned())
        ]
    );
    assert!(attendees(&got.body, "OptionalAttendees").is_empty());
    let (_, _, updates) = sync_calendar(&h, Some(&state));
    assert_eq!(updates, [id]);

    // Nobody was told: no meeting in the attendees' calendars, no request in their inboxes.
    for who in [BOB, CAROL] {
        for folder in [DistinguishedFolder::Calendar, DistinguishedFolder::Inbox] {
            assert_eq!(h.exchange.item_count(who, folder).unwrap(), 0, "{who}");
        }
    }
}

#[test]
fn the_user_side_sets_both_attendee_lists() {
    let h = Harness::new();
    let id = h
        .exchange
        .create_calendar_item(
            ALICE,
            exsync_ews_sim::ews::NewCalendarItem {
                subject: "Standup".into(),
                optional_attendees: vec![EmailAddress::new(CAROL)],
                ..Default::default()
            },
        )
        .unwrap();
    let got = h.as_svc(
        ALICE,
        &get_item(id.as_str(), "AllProperties", ATTENDEE_PROPS),
    );
    assert_eq!(
        attendees(&got.body, "OptionalAttendees"),
        [(CAROL.to_owned(), String::new())]
    );
    assert_eq!(text(&got.body, "IsMeeting").as_deref(), Some("true"));
    h.exchange
        .update_item(
            ALICE,
            &id,
            ItemUpdate {
                required_attendees: Some(vec![EmailAddress::named("Bob Berg", BOB)]),
                optional_attendees: Some(Vec::new()),
                ..Default::default()
            },
        )
        .unwrap();
    let got = h.as_svc(
        ALICE,
        &get_item(id.as_str(), "AllProperties", ATTENDEE_PROPS),
    );
    assert_eq!(
        attendees(&got.body, "RequiredAttendees"),
        [(BOB.to_owned(), "Bob Berg".to_owned())]
    );
    assert!(attendees(&got.body, "OptionalAttendees").is_empty());
}

#[test]
fn a_calendar_item_cannot_be_created_in_a_mail_folder() {
    let h = Harness::new();
    let op = format!(
        r#"<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>{}</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>x</t:Subject></t:CalendarItem></m:Items></m:CreateItem>"#,
        dfolder("inbox", None)
    );
    assert_eq!(
        codes(&h.as_svc(ALICE, &op)),
        ["ErrorCannotCreateCalendarItemInNonCalendarFolder"]
    );
}

#[test]
fn user_side_changes_through_the_control_methods_show_in_ews() {
    let h = Harness::new();
    let id = h
        .exchange
        .create_calendar_item(
            ALICE,
            exsync_ews_sim::ews::NewCalendarItem {
                subject: "Standup".into(),
                ..Default::default()
            },
        )
        .unwrap();
    h.exchange
        .update_item(
            ALICE,
            &id,
            ItemUpdate {
                location: Some("Hall".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let got = h.as_svc(ALICE, &get_item(id.as_str(), "Default", ""));
    assert_eq!(text(&got.body, "Location").as_deref(), Some("Hall"));
    let moved = h
        .exchange
        .move_item(ALICE, &id, DistinguishedFolder::DeletedItems)
        .unwrap();
    assert_eq!(
        codes(&h.as_svc(ALICE, &get_item(moved.as_str(), "IdOnly", ""))),
        ["NoError"]
    );
}

#[test]
fn create_attachment_adds_to_the_item_and_delete_attachment_removes_it() {
    let h = Harness::new();
    let saved = h.as_svc(ALICE, &create_message("SaveOnly", &[BOB], "With file", "a"));
    let (id, change_key) = first_item_id(&saved);
    let op = format!(
        r#"<m:CreateAttachment><m:ParentItemId Id="{id}" ChangeKey="{change_key}"/><m:Attachments><t:FileAttachment><t:Name>notes.txt</t:Name><t:ContentType>text/plain</t:ContentType><t:Content>{}</t:Content></t:FileAttachment></m:Attachments></m:CreateAttachment>"#,
        B64.encode("hello")
    );
    let created = h.as_svc(ALICE, &op);
    assert_eq!(codes(&created), ["NoError"]);
    assert_eq!(
        attrs(&created.body, "AttachmentId", "RootItemId"),
        [id.as_str()]
    );
    let root_change_key = attrs(&created.body, "AttachmentId", "RootItemChangeKey").remove(0);
    assert_ne!(root_change_key, change_key);
    let attachment = attrs(&created.body, "AttachmentId", "Id").remove(0);
    let got = h.as_svc(
        ALICE,
        &format!(r#"<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="{attachment}"/></m:AttachmentIds></m:GetAttachment>"#),
    );
    assert_eq!(
        B64.decode(text(&got.body, "Content").unwrap()).unwrap(),
        b"hello"
    );

    let deleted = h.as_svc(
        ALICE,
        &format!(r#"<m:DeleteAttachment><m:AttachmentIds><t:AttachmentId Id="{attachment}"/></m:AttachmentIds></m:DeleteAttachment>"#),
    );
    assert_eq!(codes(&deleted), ["NoError"]);
    assert_eq!(
        attrs(&deleted.body, "RootItemId", "RootItemId"),
        [id.as_str()]
    );
    let item = h.as_svc(ALICE, &get_item(&id, "Default", ""));
    assert_eq!(text(&item.body, "HasAttachments").as_deref(), Some("false"));
}

#[test]
fn create_attachment_on_a_missing_item_fails_each_attachment() {
    let h = Harness::new();
    let op = r#"<m:CreateAttachment><m:ParentItemId Id="nope"/><m:Attachments><t:FileAttachment><t:Name>a</t:Name><t:Content>aGk=</t:Content></t:FileAttachment><t:FileAttachment><t:Name>b</t:Name><t:Content>aGk=</t:Content></t:FileAttachment></m:Attachments></m:CreateAttachment>"#;
    assert_eq!(
        codes(&h.as_svc(ALICE, op)),
        ["ErrorInvalidIdMalformed", "ErrorInvalidIdMalformed"]
    );
}
