//! CreateItem for messages: SaveOnly, SendOnly, SendAndSaveCopy, delivery to local
//! recipients, threading, and finding what was sent by its extended property.

mod ews_support;

use ews_support::*;
use exsync_ews_sim::ews::IncomingMessage;
use exsync_ews_sim::store::{DistinguishedFolder, EmailAddress, PropertyKey};

fn find_by_activity(folder: &str, activity: &str) -> String {
    let restriction = format!(
        "<t:IsEqualTo>{}<t:FieldURIOrConstant><t:Constant Value=\"{activity}\"/></t:FieldURIOrConstant></t:IsEqualTo>",
        exsync_uri()
    );
    find_item(&dfolder(folder, None), "IdOnly", "", &restriction)
}

#[test]
fn send_and_save_copy_delivers_to_a_local_recipient_and_keeps_a_copy_with_the_property() {
    let h = Harness::new();
    let reply = h.as_svc(
        ALICE,
        &create_message(
            "SendAndSaveCopy",
            &[BOB, "ext@fabrikam.test"],
            "Status report",
            "act-42",
        ),
    );
    assert_eq!(codes(&reply), ["NoError"], "{}", reply.body);
    // Exchange returns no ids for sent messages.
    assert_eq!(child_names(&reply.body, "Items"), Vec::<String>::new());

    let inbox = h.exchange.items(BOB, DistinguishedFolder::Inbox).unwrap();
    assert_eq!(inbox.len(), 1);
    let delivered = &inbox[0];
    assert_eq!(delivered.subject.as_deref(), Some("Status report"));
    assert_eq!(
        delivered.from.as_ref().map(|f| f.address.as_str()),
        Some(ALICE)
    );
    assert!(!delivered.is_read);
    let message_id = delivered.internet_message_id.clone().unwrap();
    assert!(
        message_id.starts_with('<') && message_id.ends_with("@contoso.test>"),
        "{message_id}"
    );

    let sent = h
        .exchange
        .items(ALICE, DistinguishedFolder::SentItems)
        .unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].internet_message_id.as_deref(),
        Some(message_id.as_str())
    );
    let key = PropertyKey::named(EXSYNC_SET, EXSYNC_PROP);
    let prop = sent[0]
        .extended_properties
        .iter()
        .find(|p| p.key.same_property(&key))
        .unwrap();
    assert_eq!(prop.single(), Some("act-42"));
}

#[test]
fn what_was_sent_is_found_again_by_find_item_on_the_extended_property() {
    let h = Harness::new();
    h.as_svc(
        ALICE,
        &create_message("SendAndSaveCopy", &[BOB], "One", "act-1"),
    );
    h.as_svc(
        ALICE,
        &create_message("SendAndSaveCopy", &[BOB], "Two", "act-2"),
    );
    let found = h.as_svc(ALICE, &find_by_activity("sentitems", "act-2"));
    assert_eq!(codes(&found), ["NoError"]);
    assert_eq!(attrs(&found.body, "RootFolder", "TotalItemsInView"), ["1"]);
    let (id, _) = first_item_id(&found);
    let item = h.as_svc(ALICE, &get_item(&id, "Default", ""));
    assert_eq!(text(&item.body, "Subject").as_deref(), Some("Two"));
    let none = h.as_svc(ALICE, &find_by_activity("sentitems", "act-3"));
    assert_eq!(attrs(&none.body, "RootFolder", "TotalItemsInView"), ["0"]);
}

#[test]
fn exists_on_the_extended_property_separates_exsync_sends_from_the_rest() {
    let h = Harness::new();
    h.as_svc(
        ALICE,
        &create_message("SendAndSaveCopy", &[BOB], "Tagged", "act-1"),
    );
    h.exchange
        .deliver(
            BOB,
            IncomingMessage {
                from: EmailAddress::new("x@fabrikam.test"),
                subject: "Untagged".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let restriction = format!("<t:Exists>{}</t:Exists>", exsync_uri());
    let reply = h.as_svc(
        BOB,
        &find_item(&dfolder("inbox", None), "Default", "", &restriction),
    );
    assert_eq!(texts(&reply.body, "Subject"), ["Tagged"]);
}

#[test]
fn send_only_delivers_without_keeping_a_copy() {
    let h = Harness::new();
    let reply = h.as_svc(ALICE, &create_message("SendOnly", &[BOB], "Ping", "act-9"));
    assert_eq!(codes(&reply), ["NoError"]);
    assert_eq!(
        h.exchange
            .item_count(BOB, DistinguishedFolder::Inbox)
            .unwrap(),
        1
    );
    assert_eq!(
        h.exchange
            .item_count(ALICE, DistinguishedFolder::SentItems)
            .unwrap(),
        0
    );
}

#[test]
fn save_only_puts_a_draft_in_drafts_and_returns_its_id() {
    let h = Harness::new();
    let reply = h.as_svc(ALICE, &create_message("SaveOnly", &[BOB], "Draft", "act-5"));
    assert_eq!(codes(&reply), ["NoError"]);
    let (id, change_key) = first_item_id(&reply);
    assert!(!change_key.is_empty());
    let item = h.as_svc(ALICE, &get_item(&id, "AllProperties", ""));
    assert_eq!(text(&item.body, "IsDraft").as_deref(), Some("true"));
    assert_eq!(
        h.exchange
            .item_count(BOB, DistinguishedFolder::Inbox)
            .unwrap(),
        0
    );
    assert_eq!(
        h.exchange
            .item_count(ALICE, DistinguishedFolder::Drafts)
            .unwrap(),
        1
    );
}

#[test]
fn a_draft_is_sent_later_with_send_item() {
    let h = Harness::new();
    let (id, _) =
        first_item_id(&h.as_svc(ALICE, &create_message("SaveOnly", &[BOB], "Later", "a")));
    let op = format!(
        r#"<m:SendItem SaveItemToFolder="true"><m:ItemIds><t:ItemId Id="{id}"/></m:ItemIds></m:SendItem>"#
    );
    assert_eq!(codes(&h.as_svc(ALICE, &op)), ["NoError"]);
    assert_eq!(
        h.exchange
            .item_count(ALICE, DistinguishedFolder::Drafts)
            .unwrap(),
        0
    );
    assert_eq!(
        h.exchange
            .item_count(ALICE, DistinguishedFolder::SentItems)
            .unwrap(),
        1
    );
    assert_eq!(
        h.exchange
            .item_count(BOB, DistinguishedFolder::Inbox)
            .unwrap(),
        1
    );
}

#[test]
fn a_message_without_disposition_is_refused() {
    let h = Harness::new();
    let op = create_message("SaveOnly", &[BOB], "x", "a")
        .replace(r#" MessageDisposition="SaveOnly""#, "");
    assert_eq!(
        codes(&h.as_svc(ALICE, &op)),
        ["ErrorMessageDispositionRequired"]
    );
}

#[test]
fn sending_without_recipients_is_refused() {
    let h = Harness::new();
    let reply = h.as_svc(ALICE, &create_message("SendAndSaveCopy", &[], "x", "a"));
    assert_eq!(codes(&reply), ["ErrorMissingRecipients"]);
}

#[test]
fn a_reply_is_threaded_under_the_message_it_answers() {
    let h = Harness::new();
    let op = r#"<m:CreateItem MessageDisposition="SendAndSaveCopy"><m:Items><t:Message>
        <t:Subject>RE: Welcome</t:Subject>
        <t:Body BodyType="Text">Thanks</t:Body>
        <t:InReplyTo>&lt;welcome@fabrikam.test&gt;</t:InReplyTo>
        <t:ToRecipients><t:Mailbox><t:EmailAddress>bob@contoso.test</t:EmailAddress></t:Mailbox></t:ToRecipients>
        <t:References>&lt;welcome@fabrikam.test&gt;</t:References>
      </t:Message></m:Items></m:CreateItem>"#;
    assert_eq!(codes(&h.as_svc(ALICE, op)), ["NoError"]);
    let welcome = h.exchange.items(ALICE, DistinguishedFolder::Inbox).unwrap();
    let sent = h
        .exchange
        .items(ALICE, DistinguishedFolder::SentItems)
        .unwrap();
    let props = r#"<t:FieldURI FieldURI="item:ConversationId"/><t:FieldURI FieldURI="message:ConversationIndex"/><t:FieldURI FieldURI="message:ConversationTopic"/><t:FieldURI FieldURI="message:References"/>"#;
    let parent = h.as_svc(ALICE, &get_item(welcome[0].id.as_str(), "IdOnly", props));
    let reply = h.as_svc(ALICE, &get_item(sent[0].id.as_str(), "IdOnly", props));
    assert_eq!(
        attrs(&parent.body, "ConversationId", "Id"),
        attrs(&reply.body, "ConversationId", "Id")
    );
    let parent_index = text(&parent.body, "ConversationIndex").unwrap();
    let reply_index = text(&reply.body, "ConversationIndex").unwrap();
    assert!(reply_index.len() > parent_index.len());
    assert_eq!(
        text(&reply.body, "ConversationTopic").as_deref(),
        Some("Welcome")
    );
    assert_eq!(
        text(&reply.body, "References").as_deref(),
        Some("<welcome@fabrikam.test>")
    );
    let bob = h.exchange.items(BOB, DistinguishedFolder::Inbox).unwrap();
    assert_eq!(
        bob[0].in_reply_to.as_deref(),
        Some("<welcome@fabrikam.test>")
    );
}

#[test]
fn a_given_message_id_is_kept() {
    let h = Harness::new();
    let op = create_message("SendAndSaveCopy", &[BOB], "Mine", "a").replace(
        "</t:ToRecipients>",
        "</t:ToRecipients><t:InternetMessageId>&lt;chosen@contoso.test&gt;</t:InternetMessageId>",
    );
    assert_eq!(codes(&h.as_svc(ALICE, &op)), ["NoError"]);
    let bob = h.exchange.items(BOB, DistinguishedFolder::Inbox).unwrap();
    assert_eq!(
        bob[0].internet_message_id.as_deref(),
        Some("<chosen@contoso.test>")
    );
}

#[test]
fn bcc_recipients_receive_the_message_but_nobody_sees_them() {
    let h = Harness::new();
    let op = create_message("SendAndSaveCopy", &[BOB], "Secret", "a").replace(
        "</t:ToRecipients>",
        "</t:ToRecipients><t:BccRecipients><t:Mailbox><t:EmailAddress>carol@contoso.test</t:EmailAddress></t:Mailbox></t:BccRecipients>",
    );
    assert_eq!(codes(&h.as_svc(ALICE, &op)), ["NoError"]);
    let carol = h.exchange.items(CAROL, DistinguishedFolder::Inbox).unwrap();
    assert_eq!(carol.len(), 1);
    let bob = h.exchange.items(BOB, DistinguishedFolder::Inbox).unwrap();
    let got = h.as_svc(BOB, &get_item(bob[0].id.as_str(), "AllProperties", ""));
    assert!(!got.body.contains("BccRecipients"), "{}", got.body);
}

#[test]
fn a_message_given_as_mime_content_is_sent_with_its_headers_and_body() {
    use base64::Engine as _;
    let h = Harness::new();
    let mime = "From: Alice Anders <alice@contoso.test>\r\nTo: Bob Berg <bob@contoso.test>\r\nSubject: From MIME\r\nMessage-ID: <mime-1@contoso.test>\r\nIn-Reply-To: <welcome@fabrikam.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBody from MIME\r\n";
    let op = format!(
        r#"<m:CreateItem MessageDisposition="SendAndSaveCopy"><m:Items><t:Message><t:MimeContent CharacterSet="UTF-8">{}</t:MimeContent><t:ExtendedProperty>{}<t:Value>act-mime</t:Value></t:ExtendedProperty></t:Message></m:Items></m:CreateItem>"#,
        base64::engine::general_purpose::STANDARD.encode(mime),
        exsync_uri()
    );
    assert_eq!(codes(&h.as_svc(ALICE, &op)), ["NoError"]);
    let bob = h.exchange.items(BOB, DistinguishedFolder::Inbox).unwrap();
    assert_eq!(bob.len(), 1);
    assert_eq!(bob[0].subject.as_deref(), Some("From MIME"));
    assert_eq!(
        bob[0].internet_message_id.as_deref(),
        Some("<mime-1@contoso.test>")
    );
    assert_eq!(
        bob[0].in_reply_to.as_deref(),
        Some("<welcome@fabrikam.test>")
    );
    assert_eq!(bob[0].body_text.as_deref(), Some("Body from MIME\r\n"));
    let found = h.as_svc(ALICE, &find_by_activity("sentitems", "act-mime"));
    assert_eq!(attrs(&found.body, "RootFolder", "TotalItemsInView"), ["1"]);
}

#[test]
fn mime_content_that_is_not_base64_fails_that_item() {
    let h = Harness::new();
    let op = r#"<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Message><t:MimeContent>not base64!</t:MimeContent></t:Message></m:Items></m:CreateItem>"#;
    assert_eq!(
        codes(&h.as_svc(ALICE, op)),
        ["ErrorMimeContentInvalidBase64String"]
    );
}
