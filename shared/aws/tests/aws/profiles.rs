//! Profiles and org settings: create, read, list, optimistic concurrency, delete.

use crate::common::{invalid_field, mailbox, profile, stack};
use exsync_domain::DomainError;
use exsync_domain::ids::ProfileId;
use exsync_domain::ports::ConfigStore;
use serde_json::json;

#[tokio::test]
async fn a_created_profile_reads_back_as_written() {
    let s = stack().await;
    let p = profile("Contoso Exchange", json!({"description": "main site"}));
    s.store.create_profile(&p).await.unwrap();
    assert_eq!(s.store.get_profile(&p.id).await.unwrap(), Some(p));
}

#[tokio::test]
async fn an_unknown_profile_reads_as_none() {
    let s = stack().await;
    assert_eq!(s.store.get_profile(&ProfileId::new()).await.unwrap(), None);
}

#[tokio::test]
async fn creating_a_profile_with_a_taken_id_is_a_conflict() {
    let s = stack().await;
    let p = profile("First", json!({}));
    s.store.create_profile(&p).await.unwrap();
    let mut again = p.clone();
    again.name = "Second".into();
    let e = s.store.create_profile(&again).await.unwrap_err();
    assert!(matches!(e, DomainError::Conflict(_)), "{e:?}");
    assert_eq!(
        s.store.get_profile(&p.id).await.unwrap().unwrap().name,
        "First"
    );
}

#[tokio::test]
async fn an_update_at_the_stored_version_is_stored() {
    let s = stack().await;
    let mut p = profile("Old name", json!({}));
    s.store.create_profile(&p).await.unwrap();
    p.name = "New name".into();
    p.version = 2;
    s.store.update_profile(&p, 1).await.unwrap();
    assert_eq!(s.store.get_profile(&p.id).await.unwrap(), Some(p));
}

#[tokio::test]
async fn an_update_at_a_stale_version_is_a_version_conflict_and_changes_nothing() {
    let s = stack().await;
    let mut p = profile("Shared", json!({}));
    s.store.create_profile(&p).await.unwrap();
    let mut first = p.clone();
    first.description = "first writer".into();
    first.version = 2;
    s.store.update_profile(&first, 1).await.unwrap();

    p.description = "second writer, read version 1".into();
    p.version = 2;
    let e = s.store.update_profile(&p, 1).await.unwrap_err();
    assert!(
        matches!(e, DomainError::VersionConflict { expected: 1, .. }),
        "{e:?}"
    );
    assert_eq!(s.store.get_profile(&p.id).await.unwrap(), Some(first));
}

#[tokio::test]
async fn updating_a_missing_profile_is_not_found() {
    let s = stack().await;
    let p = profile("Ghost", json!({}));
    let e = s.store.update_profile(&p, 1).await.unwrap_err();
    assert!(matches!(e, DomainError::NotFound { .. }), "{e:?}");
    assert_eq!(s.store.get_profile(&p.id).await.unwrap(), None);
}

#[tokio::test]
async fn profiles_list_by_name_across_pages() {
    let s = stack().await;
    let names = ["delta", "Alpha", "charlie", "Echo", "bravo"];
    for n in names {
        s.store
            .create_profile(&profile(n, json!({})))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut next = None;
    let mut pages = 0;
    loop {
        let page = s.store.list_profiles(2, next).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|p| p.name));
        pages += 1;
        match page.next {
            Some(t) => next = Some(t),
            None => break,
        }
    }
    assert!(pages >= 3, "five profiles in pages of two take three pages");
    assert_eq!(seen, ["Alpha", "bravo", "charlie", "delta", "Echo"]);
}

#[tokio::test]
async fn a_tampered_next_token_is_a_validation_error_naming_next() {
    let s = stack().await;
    let e = s
        .store
        .list_profiles(10, Some("not-a-token".into()))
        .await
        .unwrap_err();
    assert_eq!(invalid_field(e), "next");
}

#[tokio::test]
async fn a_zero_page_size_is_a_validation_error_naming_limit() {
    let s = stack().await;
    let e = s.store.list_profiles(0, None).await.unwrap_err();
    assert_eq!(invalid_field(e), "limit");
}

#[tokio::test]
async fn deleting_at_a_stale_version_is_a_conflict_and_at_the_current_one_removes_it() {
    let s = stack().await;
    let mut p = profile("Doomed", json!({}));
    s.store.create_profile(&p).await.unwrap();
    p.version = 2;
    s.store.update_profile(&p, 1).await.unwrap();

    let e = s.store.delete_profile(&p.id, 1).await.unwrap_err();
    assert!(matches!(e, DomainError::VersionConflict { .. }), "{e:?}");
    s.store.delete_profile(&p.id, 2).await.unwrap();
    assert_eq!(s.store.get_profile(&p.id).await.unwrap(), None);
    let e = s.store.delete_profile(&p.id, 2).await.unwrap_err();
    assert!(matches!(e, DomainError::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn deleting_a_profile_is_refused_while_a_mailbox_uses_it() {
    let s = stack().await;
    let p = profile("In use", json!({}));
    s.store.create_profile(&p).await.unwrap();
    let mut m = mailbox("Alice", json!({"profile_id": p.id}));
    s.store.create_mailbox(&m).await.unwrap();

    let e = s.store.delete_profile(&p.id, 1).await.unwrap_err();
    assert!(matches!(e, DomainError::Conflict(_)), "{e:?}");
    assert!(s.store.get_profile(&p.id).await.unwrap().is_some());

    // Once the mailbox moves off the profile, the delete goes through.
    m.profile_id = None;
    m.version = 2;
    s.store.update_mailbox(&m, 1).await.unwrap();
    s.store.delete_profile(&p.id, 1).await.unwrap();
}

#[tokio::test]
async fn settings_are_the_defaults_at_version_zero_until_written() {
    let s = stack().await;
    let settings = s.store.get_settings().await.unwrap();
    assert_eq!(settings, exsync_domain::org::OrgSettings::default());
    assert_eq!(settings.version, 0);
}

#[tokio::test]
async fn settings_are_written_once_from_version_zero_and_then_versioned() {
    let s = stack().await;
    let mut settings = s.store.get_settings().await.unwrap();
    settings.smart_matching = true;
    settings.version = 1;
    s.store.put_settings(&settings, 0).await.unwrap();
    assert_eq!(s.store.get_settings().await.unwrap(), settings);

    // A second writer that also read the defaults loses.
    let stale = exsync_domain::org::OrgSettings {
        version: 1,
        ..Default::default()
    };
    let e = s.store.put_settings(&stale, 0).await.unwrap_err();
    assert!(matches!(e, DomainError::VersionConflict { .. }), "{e:?}");

    settings.smart_matching = false;
    settings.version = 2;
    s.store.put_settings(&settings, 1).await.unwrap();
    assert_eq!(s.store.get_settings().await.unwrap().version, 2);
}
