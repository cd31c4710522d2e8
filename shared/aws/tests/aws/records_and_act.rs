//! Email-enabled records by address and kind; appointments, contacts and tasks.

use crate::common::{now, stack};
use exsync_domain::DomainError;
use exsync_domain::activity::{Appointment, ContactActivity, TaskActivity};
use exsync_domain::ids::{ActivityId, EmailAddress, Principal};
use exsync_domain::ports::ActivityStore;
use exsync_domain::record::{EmailEnabledRecord, RecordKind};
use serde_json::json;

fn addr(a: &str) -> EmailAddress {
    EmailAddress::parse(a).unwrap()
}

fn record(kind: &str, name: &str, addresses: &[&str]) -> EmailEnabledRecord {
    serde_json::from_value(json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "kind": kind,
        "name": name,
        "addresses": addresses,
    }))
    .unwrap()
}

#[tokio::test]
async fn a_record_is_found_under_each_of_its_addresses() {
    let s = stack().await;
    let r = record(
        "contact",
        "Bob Kelly",
        &["bob@fabrikam.com", "Bob.Kelly@Fabrikam.com"],
    );
    s.store.create_record(&r).await.unwrap();
    for a in [
        "bob@fabrikam.com",
        "bob.kelly@fabrikam.com",
        "BOB@FABRIKAM.COM",
    ] {
        assert_eq!(
            s.store.records_by_email(&addr(a)).await.unwrap(),
            std::slice::from_ref(&r),
            "{a}"
        );
    }
    assert!(
        s.store
            .records_by_email(&addr("nobody@fabrikam.com"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn records_sharing_an_address_are_all_found() {
    let s = stack().await;
    let contact = record("contact", "Info contact", &["info@fabrikam.com"]);
    let account = record("account", "Fabrikam", &["info@fabrikam.com"]);
    s.store.create_record(&contact).await.unwrap();
    s.store.create_record(&account).await.unwrap();
    let mut found: Vec<_> = s
        .store
        .records_by_email(&addr("info@fabrikam.com"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    found.sort();
    assert_eq!(found, ["Fabrikam", "Info contact"]);
}

#[tokio::test]
async fn creating_a_record_with_a_taken_id_is_a_conflict_and_adds_no_address() {
    let s = stack().await;
    let r = record("lead", "Lead", &["lead@x.com"]);
    s.store.create_record(&r).await.unwrap();
    let mut again = r.clone();
    again.addresses = vec![addr("other@x.com")];
    let e = s.store.create_record(&again).await.unwrap_err();
    assert!(matches!(e, DomainError::Conflict(_)), "{e:?}");
    assert!(
        s.store
            .records_by_email(&addr("other@x.com"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn records_list_by_kind_and_name_across_pages() {
    let s = stack().await;
    for n in ["Carol", "alice", "Bob"] {
        s.store
            .create_record(&record(
                "contact",
                n,
                &[&format!("{}@x.com", n.to_lowercase())],
            ))
            .await
            .unwrap();
    }
    s.store
        .create_record(&record("account", "Acme", &["acme@x.com"]))
        .await
        .unwrap();
    let mut names = Vec::new();
    let mut next = None;
    loop {
        let page = s
            .store
            .list_records(RecordKind::Contact, 2, next)
            .await
            .unwrap();
        names.extend(page.items.into_iter().map(|r| r.name));
        match page.next {
            Some(t) => next = Some(t),
            None => break,
        }
    }
    assert_eq!(names, ["alice", "Bob", "Carol"]);
}

fn appointment(owner: &str, subject: &str, modified_offset_min: i64) -> Appointment {
    let t = now();
    serde_json::from_value(json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "owner": owner,
        "subject": subject,
        "start": (t + time::Duration::days(1)).format(&time::format_description::well_known::Rfc3339).unwrap(),
        "end": (t + time::Duration::days(1) + time::Duration::hours(1)).format(&time::format_description::well_known::Rfc3339).unwrap(),
        "version": 1,
        "modified_at": (t + time::Duration::minutes(modified_offset_min)).format(&time::format_description::well_known::Rfc3339).unwrap(),
    }))
    .unwrap()
}

#[tokio::test]
async fn appointments_are_created_once_updated_by_version_listed_by_owner_and_deleted() {
    let s = stack().await;
    let alice = Principal::parse("alice").unwrap();
    let mut a = appointment("alice", "Review", 0);
    let b = appointment("alice", "Lunch", 5);
    s.store.put_appointment(&a, None).await.unwrap();
    s.store.put_appointment(&b, None).await.unwrap();
    s.store
        .put_appointment(&appointment("bob", "Not alice's", 0), None)
        .await
        .unwrap();

    let e = s.store.put_appointment(&a, None).await.unwrap_err();
    assert!(
        matches!(e, DomainError::Conflict(_)),
        "creating twice: {e:?}"
    );

    a.location = "Room 1".into();
    a.version = 2;
    s.store.put_appointment(&a, Some(1)).await.unwrap();
    let e = s.store.put_appointment(&a, Some(1)).await.unwrap_err();
    assert!(matches!(e, DomainError::VersionConflict { .. }), "{e:?}");
    assert_eq!(
        s.store.get_appointment(&a.id).await.unwrap(),
        Some(a.clone())
    );

    // Most recently modified first.
    let listed: Vec<_> = s
        .store
        .list_appointments(&alice)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.subject)
        .collect();
    assert_eq!(listed, ["Lunch", "Review"]);

    s.store.delete_appointment(&a.id).await.unwrap();
    assert_eq!(s.store.get_appointment(&a.id).await.unwrap(), None);
    let e = s.store.delete_appointment(&a.id).await.unwrap_err();
    assert!(matches!(e, DomainError::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn contacts_and_tasks_are_kept_apart_per_kind() {
    let s = stack().await;
    let alice = Principal::parse("alice").unwrap();
    let t = now()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let c: ContactActivity = serde_json::from_value(json!({
        "id": ActivityId::new(), "owner": "alice", "first_name": "Bob", "last_name": "Kelly",
        "email": "bob@fabrikam.com", "version": 1, "modified_at": t,
    }))
    .unwrap();
    let task: TaskActivity = serde_json::from_value(json!({
        "id": ActivityId::new(), "owner": "alice", "subject": "Call Bob",
        "status": "in_progress", "percent_complete": 50, "version": 1, "modified_at": t,
    }))
    .unwrap();
    s.store.put_contact(&c, None).await.unwrap();
    s.store.put_task(&task, None).await.unwrap();
    assert_eq!(
        s.store.list_contacts(&alice).await.unwrap(),
        std::slice::from_ref(&c)
    );
    assert_eq!(
        s.store.list_tasks(&alice).await.unwrap(),
        std::slice::from_ref(&task)
    );
    assert!(s.store.list_appointments(&alice).await.unwrap().is_empty());
    assert_eq!(s.store.get_task(&c.id).await.unwrap(), None);
    s.store.delete_contact(&c.id).await.unwrap();
    s.store.delete_task(&task.id).await.unwrap();
    assert!(s.store.list_contacts(&alice).await.unwrap().is_empty());
    assert_eq!(s.store.get_contact(&c.id).await.unwrap(), None);
}
