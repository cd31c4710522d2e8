//! Items: a batch where one id is bad, and sending a message the way exsync records an
//! activity (SendAndSaveCopy with an extended property, found again by FindItem).

use exsync_ews::operations::{CreateItem, FindItem, GetItem, ItemTraversal, MessageDisposition};
use exsync_ews::transport::AuthScheme;
use exsync_ews::types::{
    Body, DistinguishedFolderName, ExtendedFieldUri, ExtendedProperty, ExtendedValue, Item, ItemId,
    ItemShape, Mailbox, MapiPropertyType, Message, Restriction,
};
use exsync_ews::{ErrorClass, EwsError};
use exsync_ews_sim::store::{DistinguishedFolder, PropertyKey};
use exsync_integration_tests::{ALICE, BOB, Sim, deadline};

#[tokio::test]
async fn get_item_with_a_good_and_a_bogus_id_fails_only_the_bogus_one() {
    let sim = Sim::start();
    let good = sim.deliver_messages(ALICE, 1).remove(0);
    let client = sim.client(AuthScheme::Ntlm);
    let op = GetItem {
        shape: ItemShape::id_only(),
        item_ids: vec![
            ItemId::new(good.clone()),
            ItemId::new("AAMkADc3MWUyMGQ5LWJvZ3VzLWlkLXRoYXQtd2FzLW5ldmVyLWlzc3VlZA=="),
        ],
    };

    let results = client
        .call(Some(ALICE), &op, deadline())
        .await
        .unwrap()
        .body;

    let [first, second] = results.as_slice() else {
        panic!("one result per id: {results:?}");
    };
    let item = first.as_ref().unwrap();
    assert_eq!(item.item_id().map(|id| id.id.as_str()), Some(good.as_str()));
    let err = second.as_ref().unwrap_err();
    assert!(matches!(err, EwsError::Response(_)), "{err:?}");
    assert_eq!(err.class(), ErrorClass::ItemLevel);
}

/// exsync's own property set, under which it tags what it sends with the activity's id.
const EXSYNC_SET: uuid::Uuid = uuid::uuid!("5f6e2c1a-8d3b-4c7e-9a10-2b3c4d5e6f70");
const ACTIVITY_PROPERTY: &str = "ExsyncActivityId";

fn activity_uri() -> ExtendedFieldUri {
    ExtendedFieldUri::named_in(EXSYNC_SET, ACTIVITY_PROPERTY, MapiPropertyType::String)
}

/// Alice sends Bob a message tagged with `activity`, keeping a copy in Sent Items.
fn send_tagged(subject: &str, activity: &str) -> CreateItem {
    CreateItem::messages(
        MessageDisposition::SendAndSaveCopy,
        Some(DistinguishedFolderName::SentItems.into()),
        [Message {
            subject: Some(subject.into()),
            body: Some(Body::text(format!("{subject}: see the attached plan."))),
            to_recipients: vec![Mailbox::smtp(BOB)],
            extended_properties: vec![ExtendedProperty::new(activity_uri(), activity)],
            ..Message::default()
        }],
    )
}

fn activity_of(item: &Item) -> Option<String> {
    let Item::Message(message) = item else {
        return None;
    };
    message
        .extended_properties
        .iter()
        .find(|p| p.field_uri == activity_uri())
        .and_then(|p| match &p.value {
            ExtendedValue::Single(v) => Some(v.clone()),
            ExtendedValue::Multiple(_) => None,
        })
}

#[tokio::test]
async fn send_and_save_copy_delivers_keeps_a_tagged_copy_and_find_item_finds_it_by_the_tag() {
    let sim = Sim::start();
    let client = sim.client(AuthScheme::Ntlm);

    for (subject, activity) in [("Kick-off", "act-41"), ("Status report", "act-42")] {
        let sent = client
            .call(Some(ALICE), &send_tagged(subject, activity), deadline())
            .await
            .unwrap()
            .body;
        assert!(matches!(sent.as_slice(), [Ok(_)]), "{sent:?}");
    }

    let bobs_inbox = sim
        .exchange()
        .items(BOB, DistinguishedFolder::Inbox)
        .unwrap();
    let mut received: Vec<_> = bobs_inbox
        .iter()
        .filter_map(|i| i.subject.as_deref())
        .collect();
    received.sort_unstable();
    assert_eq!(received, ["Kick-off", "Status report"]);

    let sent_items = sim
        .exchange()
        .items(ALICE, DistinguishedFolder::SentItems)
        .unwrap();
    let key = PropertyKey::named(EXSYNC_SET.hyphenated().to_string(), ACTIVITY_PROPERTY);
    let copy = sent_items
        .iter()
        .find(|i| {
            i.extended_properties
                .iter()
                .any(|p| p.key.same_property(&key) && p.single() == Some("act-42"))
        })
        .expect("the sent copy carries the activity id");
    assert_eq!(copy.subject.as_deref(), Some("Status report"));

    let find = FindItem {
        traversal: ItemTraversal::Shallow,
        shape: ItemShape::id_only().with_properties([activity_uri().into()]),
        paging: None,
        restriction: Some(Restriction::equal(activity_uri(), "act-42")),
        sort_order: Vec::new(),
        parent_folder_ids: vec![DistinguishedFolderName::SentItems.into()],
    };
    let pages = client
        .call(Some(ALICE), &find, deadline())
        .await
        .unwrap()
        .body;
    let [Ok(page)] = pages.as_slice() else {
        panic!("one folder searched, one page: {pages:?}");
    };
    let [found] = page.items.as_slice() else {
        panic!("exactly one item carries act-42: {:?}", page.items);
    };
    assert_eq!(
        found.item_id().map(|id| id.id.as_str()),
        Some(copy.id.as_str())
    );
    assert_eq!(activity_of(found).as_deref(), Some("act-42"));
}
