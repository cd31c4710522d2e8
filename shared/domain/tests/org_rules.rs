//! Org email settings: Dynamics 365's defaults and the rules of each field.

use exsync_domain::alert::AlertLevel;
use exsync_domain::ids::ProfileId;
use exsync_domain::org::{
    ActDeliveryMethod, ActEntity, DeliveryMethod, OrgSettings, OrgSettingsInput, SyncDirection,
    TrackingToken, synced_fields,
};
use std::collections::BTreeMap;

fn apply(i: OrgSettingsInput) -> Result<OrgSettings, Vec<String>> {
    i.apply(&OrgSettings::default())
        .map_err(|e| e.0.into_iter().map(|f| f.field).collect())
}

fn directions(pairs: &[(&str, SyncDirection)]) -> Option<BTreeMap<String, SyncDirection>> {
    Some(pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
}

#[test]
fn defaults_are_dynamics_365_s() {
    let s = OrgSettings::default();
    assert_eq!(s.incoming, DeliveryMethod::ServerSideSynchronization);
    assert_eq!(s.outgoing, DeliveryMethod::ServerSideSynchronization);
    assert_eq!(
        s.appointments_contacts_tasks,
        ActDeliveryMethod::ServerSideSynchronization
    );
    assert!(s.approval_required_for_user_mailboxes && s.approval_required_for_queue_mailboxes);
    assert!(s.correlation_enabled && s.use_tracking_token);
    assert!(!s.smart_matching);
    assert!(!s.notify_mailbox_owners_of_profile_alerts);
    assert!(s.track_email_between_users_as_two_activities);
    assert_eq!(s.alert_retention_days, 30);
    assert_eq!(s.version, 0);
}

#[test]
fn only_error_and_information_alerts_are_written_by_default() {
    let s = OrgSettings::default();
    assert!(s.writes_alerts(AlertLevel::Error));
    assert!(!s.writes_alerts(AlertLevel::Warning));
    assert!(s.writes_alerts(AlertLevel::Information));
}

#[test]
fn every_synced_field_syncs_both_ways_by_default() {
    let s = OrgSettings::default();
    for (entity, map) in [
        (ActEntity::Appointment, &s.appointment_fields),
        (ActEntity::Contact, &s.contact_fields),
        (ActEntity::Task, &s.task_fields),
    ] {
        assert_eq!(map.len(), synced_fields(entity).len());
        assert!(
            map.values().all(|d| *d == SyncDirection::Both),
            "{entity:?}"
        );
    }
}

#[test]
fn a_settable_field_direction_can_be_changed() {
    let s = apply(OrgSettingsInput {
        contact_fields: directions(&[("job_title", SyncDirection::ToExchange)]),
        ..OrgSettingsInput::default()
    })
    .unwrap();
    assert_eq!(s.contact_fields["job_title"], SyncDirection::ToExchange);
    assert_eq!(s.contact_fields["email"], SyncDirection::Both);
}

#[test]
fn a_fixed_field_direction_cannot_be_changed() {
    let err = apply(OrgSettingsInput {
        appointment_fields: directions(&[("start", SyncDirection::ToExchange)]),
        ..OrgSettingsInput::default()
    })
    .unwrap_err();
    assert_eq!(err, ["appointment_fields.start"]);
}

#[test]
fn an_unknown_field_is_refused() {
    let err = apply(OrgSettingsInput {
        task_fields: directions(&[("colour", SyncDirection::None)]),
        ..OrgSettingsInput::default()
    })
    .unwrap_err();
    assert_eq!(err, ["task_fields.colour"]);
}

#[test]
fn the_tracking_token_prefix_is_1_to_20_characters_without_spaces() {
    let token = |prefix: &str| OrgSettingsInput {
        tracking_token: Some(TrackingToken {
            prefix: prefix.into(),
            ..TrackingToken::default()
        }),
        ..OrgSettingsInput::default()
    };
    assert_eq!(apply(token("")).unwrap_err(), ["tracking_token.prefix"]);
    assert_eq!(
        apply(token(&"X".repeat(21))).unwrap_err(),
        ["tracking_token.prefix"]
    );
    assert_eq!(
        apply(token("CRM :")).unwrap_err(),
        ["tracking_token.prefix"]
    );
    assert!(apply(token("EXS:")).is_ok());
}

#[test]
fn the_tracking_token_has_1_to_9_digits_and_a_base_that_fits() {
    let token = |digits: u8, base_number: u64| OrgSettingsInput {
        tracking_token: Some(TrackingToken {
            prefix: "CRM:".into(),
            base_number,
            digits,
        }),
        ..OrgSettingsInput::default()
    };
    assert_eq!(apply(token(0, 0)).unwrap_err(), ["tracking_token.digits"]);
    assert_eq!(apply(token(10, 0)).unwrap_err(), ["tracking_token.digits"]);
    assert_eq!(
        apply(token(3, 1000)).unwrap_err(),
        ["tracking_token.base_number"]
    );
    assert!(apply(token(3, 999)).is_ok());
}

#[test]
fn alert_retention_is_1_to_365_days() {
    for bad in [0, 366] {
        assert_eq!(
            apply(OrgSettingsInput {
                alert_retention_days: Some(bad),
                ..OrgSettingsInput::default()
            })
            .unwrap_err(),
            ["alert_retention_days"]
        );
    }
}

#[test]
fn active_mailboxes_are_polled_every_5_minutes_unless_the_org_says_otherwise() {
    assert_eq!(OrgSettings::default().active_polling_interval_minutes, 5);
    let s = apply(OrgSettingsInput {
        active_polling_interval_minutes: Some(1),
        ..OrgSettingsInput::default()
    })
    .unwrap();
    assert_eq!(s.active_polling_interval_minutes, 1);
}

#[test]
fn the_active_polling_interval_is_1_to_30_minutes() {
    for bad in [0, 31, -5] {
        assert_eq!(
            apply(OrgSettingsInput {
                active_polling_interval_minutes: Some(bad),
                ..OrgSettingsInput::default()
            })
            .unwrap_err(),
            ["active_polling_interval_minutes"]
        );
    }
}

#[test]
fn settings_stored_before_the_active_polling_interval_existed_read_as_5_minutes() {
    let mut stored = serde_json::to_value(OrgSettings::default()).unwrap();
    stored
        .as_object_mut()
        .unwrap()
        .remove("active_polling_interval_minutes");
    let s: OrgSettings = serde_json::from_value(stored).unwrap();
    assert_eq!(s.active_polling_interval_minutes, 5);
}

#[test]
fn missing_fields_keep_their_values_and_the_version_moves_on() {
    let current = OrgSettings {
        smart_matching: true,
        version: 4,
        ..OrgSettings::default()
    };
    let s = OrgSettingsInput {
        outgoing: Some(DeliveryMethod::None),
        ..OrgSettingsInput::default()
    }
    .apply(&current)
    .unwrap();
    assert!(s.smart_matching);
    assert_eq!(s.outgoing, DeliveryMethod::None);
    assert_eq!(s.version, 5);
}

#[test]
fn an_empty_default_profile_clears_it() {
    let current = OrgSettings {
        default_profile: Some(ProfileId::new()),
        ..OrgSettings::default()
    };
    let s = OrgSettingsInput {
        default_profile: Some(String::new()),
        ..OrgSettingsInput::default()
    }
    .apply(&current)
    .unwrap();
    assert_eq!(s.default_profile, None);
}
