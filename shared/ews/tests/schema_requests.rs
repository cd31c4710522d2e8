//! Every kind of request this crate can build validates against Microsoft's EWS schema
//! (Exchange2010_SP2 level), as Exchange itself would check it.
//!
//! All requests are written to one temporary directory and checked by a single `xmllint`
//! run (it takes tens of milliseconds to load the schema). A deliberately invalid request
//! is included to prove the check can fail.

use exsync_ews::Operation;
use exsync_ews::envelope::write_request;
use exsync_ews::operations::*;
use exsync_ews::types::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn schema_dir() -> PathBuf {
    match std::env::var_os("EXSYNC_EWS_SCHEMA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ews-schema"),
    }
}

/// Collects named request documents.
#[derive(Default)]
struct Requests(Vec<(String, String)>);

impl Requests {
    fn add<Op: Operation>(&mut self, name: &str, op: &Op) {
        self.0.push((
            format!("{name}.xml"),
            write_request(op, Some("alice@contoso.com")),
        ));
        // The same request without impersonation (service-account calls).
        self.0
            .push((format!("{name}-noimp.xml"), write_request(op, None)));
    }
}

fn t(s: &str) -> DateTime {
    DateTime::parse(s).expect("test date")
}

fn named(name: &str, ty: MapiPropertyType) -> ExtendedFieldUri {
    ExtendedFieldUri::named(DistinguishedPropertySet::PublicStrings, name, ty)
}

fn guid_id() -> ExtendedFieldUri {
    ExtendedFieldUri {
        property: ExtendedPropertyId::Id {
            set: PropertySetId::Guid(
                uuid::Uuid::parse_str("00062008-0000-0000-C000-000000000046").expect("guid"),
            ),
            id: 0x8514,
        },
        property_type: MapiPropertyType::Boolean,
    }
}

fn extended_properties() -> Vec<ExtendedProperty> {
    vec![
        ExtendedProperty::new(
            ExtendedFieldUri::tag(0x1081, MapiPropertyType::Integer),
            "102",
        ),
        ExtendedProperty::new(named("X-Exsync-Id", MapiPropertyType::String), "act-42"),
        ExtendedProperty {
            field_uri: named("X-Exsync-Tags", MapiPropertyType::StringArray),
            value: ExtendedValue::Multiple(vec!["a".into(), "b & c".into()]),
        },
        ExtendedProperty::new(guid_id(), "true"),
        ExtendedProperty::new(
            ExtendedFieldUri::tag(0x0E06, MapiPropertyType::SystemTime),
            t("2024-03-01T10:00:00Z").to_ews(),
        ),
    ]
}

fn full_message() -> Message {
    Message {
        mime_content: None,
        item_class: Some("IPM.Note".into()),
        subject: Some("Quarterly <numbers> & \"more\"".into()),
        body: Some(Body::html("<p>Hello&nbsp;there</p>")),
        categories: vec!["Red".into(), "Synced".into()],
        importance: Some(Importance::High),
        in_reply_to: Some("<1000@example.com>".into()),
        extended_properties: extended_properties(),
        sender: Some(Mailbox::named("Alice", "alice@contoso.com")),
        from: Some(Mailbox::named("Alice", "alice@contoso.com")),
        to_recipients: vec![
            Mailbox::smtp("bob@example.com"),
            Mailbox::named("Carol", "carol@example.com"),
        ],
        cc_recipients: vec![Mailbox::smtp("dave@example.com")],
        bcc_recipients: vec![Mailbox::smtp("erin@example.com")],
        internet_message_id: Some("<42@contoso.com>".into()),
        is_read: Some(true),
        references: Some("<1000@example.com> <999@example.com>".into()),
        ..Message::default()
    }
}

fn mime_message() -> Message {
    Message {
        mime_content: Some(Binary(
            b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n".to_vec(),
        )),
        is_read: Some(false),
        extended_properties: vec![ExtendedProperty::new(
            ExtendedFieldUri::tag(0x0E07, MapiPropertyType::Integer),
            "1",
        )],
        ..Message::default()
    }
}

fn full_calendar_item() -> CalendarItem {
    CalendarItem {
        item_class: Some("IPM.Appointment".into()),
        subject: Some("Planning".into()),
        body: Some(Body::text("Agenda")),
        categories: vec!["Work".into()],
        importance: Some(Importance::Normal),
        extended_properties: extended_properties(),
        uid: Some("040000008200E00074C5B7101A82E008".into()),
        start: Some(t("2024-05-01T09:00:00Z")),
        end: Some(t("2024-05-01T10:00:00+02:00")),
        is_all_day_event: Some(false),
        legacy_free_busy_status: Some(LegacyFreeBusyStatus::Oof),
        location: Some("Room 1".into()),
        required_attendees: vec![Attendee::new(Mailbox::smtp("bob@example.com"))],
        optional_attendees: vec![Attendee::new(Mailbox::named("Carol", "carol@example.com"))],
        ..CalendarItem::default()
    }
}

fn full_contact() -> Contact {
    Contact {
        item_class: Some("IPM.Contact".into()),
        body: Some(Body::text("Met at the fair")),
        categories: vec!["Customers".into()],
        extended_properties: extended_properties(),
        file_as: Some("Lee, Ann".into()),
        display_name: Some("Ann Lee".into()),
        given_name: Some("Ann".into()),
        middle_name: Some("B.".into()),
        company_name: Some("Contoso".into()),
        email_addresses: vec![
            EmailAddressEntry {
                key: EmailAddressKey::EmailAddress1,
                address: "ann@contoso.com".into(),
                name: Some("Ann Lee".into()),
            },
            EmailAddressEntry {
                key: EmailAddressKey::EmailAddress2,
                address: "ann@example.com".into(),
                name: None,
            },
        ],
        physical_addresses: vec![PhysicalAddress {
            key: PhysicalAddressKey::Business,
            street: Some("1 Main St".into()),
            city: Some("Springfield".into()),
            state: Some("IL".into()),
            country_or_region: Some("USA".into()),
            postal_code: Some("62701".into()),
        }],
        phone_numbers: vec![
            PhoneNumberEntry {
                key: PhoneNumberKey::BusinessPhone,
                number: "+1 555 0100".into(),
            },
            PhoneNumberEntry {
                key: PhoneNumberKey::MobilePhone,
                number: "+1 555 0101".into(),
            },
        ],
        department: Some("Sales".into()),
        job_title: Some("Director".into()),
        surname: Some("Lee".into()),
        ..Contact::default()
    }
}

fn full_task() -> Task {
    Task {
        item_class: Some("IPM.Task".into()),
        subject: Some("Call back".into()),
        body: Some(Body::text("About the offer")),
        categories: vec!["Follow-up".into()],
        importance: Some(Importance::Low),
        extended_properties: extended_properties(),
        complete_date: Some(t("2024-05-02T00:00:00Z")),
        due_date: Some(t("2024-05-03T00:00:00Z")),
        percent_complete: Some(100.0),
        start_date: Some(t("2024-05-01T00:00:00Z")),
        status: Some(TaskStatus::Completed),
        ..Task::default()
    }
}

fn every_restriction() -> Vec<Restriction> {
    let ops = [
        ComparisonOp::IsEqualTo,
        ComparisonOp::IsNotEqualTo,
        ComparisonOp::IsGreaterThan,
        ComparisonOp::IsGreaterThanOrEqualTo,
        ComparisonOp::IsLessThan,
        ComparisonOp::IsLessThanOrEqualTo,
    ];
    let mut all: Vec<Restriction> = ops
        .iter()
        .map(|op| {
            Restriction::compare(
                *op,
                FieldUri::ITEM_DATE_TIME_RECEIVED,
                Operand::datetime(t("2024-01-01T00:00:00Z")),
            )
        })
        .collect();
    all.push(Restriction::compare(
        ComparisonOp::IsEqualTo,
        FieldUri::ITEM_DATE_TIME_SENT,
        Operand::Path(FieldUri::ITEM_DATE_TIME_RECEIVED.into()),
    ));
    all.push(Restriction::equal(
        named("X-Exsync-Id", MapiPropertyType::String),
        "act-42",
    ));
    all.push(Restriction::Exists(
        ExtendedFieldUri::tag(0x1081, MapiPropertyType::Integer).into(),
    ));
    all.push(Restriction::Exists(
        IndexedFieldUri::email_address(EmailAddressKey::EmailAddress1).into(),
    ));
    all.push(Restriction::Contains {
        path: FieldUri::ITEM_SUBJECT.into(),
        value: "report".into(),
        mode: Some(ContainmentMode::Prefixed),
        comparison: Some(ContainmentComparison::LooseAndIgnoreCase),
    });
    all.push(Restriction::Contains {
        path: FieldUri::ITEM_SUBJECT.into(),
        value: "report".into(),
        mode: None,
        comparison: None,
    });
    all.push(Restriction::Not(Box::new(Restriction::contains(
        FieldUri::ITEM_SUBJECT,
        "spam",
    ))));
    all.push(Restriction::And(vec![
        Restriction::equal(FieldUri::MESSAGE_IS_READ, "false"),
        Restriction::Or(vec![
            Restriction::contains(FieldUri::ITEM_SUBJECT, "a"),
            Restriction::Not(Box::new(Restriction::Exists(
                FieldUri::ITEM_CATEGORIES.into(),
            ))),
        ]),
    ]));
    all
}

fn build_all() -> Requests {
    let mut r = Requests::default();
    let inbox: BaseFolderId = DistinguishedFolderName::Inbox.into();
    let other_mailbox = BaseFolderId::Distinguished(DistinguishedFolderId {
        name: DistinguishedFolderName::Calendar,
        mailbox: Some(Mailbox::smtp("bob@contoso.com")),
    });
    let folder_id = BaseFolderId::Id(FolderId {
        id: "AAMkAGFolder".into(),
        change_key: Some("AQAAAA".into()),
    });
    let rich_shape = {
        let mut s = ItemShape::new(BaseShape::AllProperties).with_properties([
            PropertyPath::from(FieldUri::ITEM_INTERNET_MESSAGE_HEADERS),
            FieldUri::MESSAGE_INTERNET_MESSAGE_ID.into(),
            FieldUri::MESSAGE_REFERENCES.into(),
            FieldUri::MESSAGE_CONVERSATION_INDEX.into(),
            FieldUri::ITEM_ATTACHMENTS.into(),
            IndexedFieldUri::phone_number(&PhoneNumberKey::MobilePhone).into(),
            ExtendedFieldUri::tag(0x1081, MapiPropertyType::Integer).into(),
            named("X-Exsync-Id", MapiPropertyType::String).into(),
            guid_id().into(),
        ]);
        s.include_mime_content = true;
        s.body_type = Some(BodyTypeResponse::Best);
        s
    };

    // Folders.
    r.add(
        "getfolder",
        &GetFolder {
            shape: FolderShape {
                base_shape: BaseShape::AllProperties,
                additional_properties: vec![
                    FieldUri::FOLDER_DISPLAY_NAME.into(),
                    ExtendedFieldUri::tag(0x3613, MapiPropertyType::String).into(),
                ],
            },
            folder_ids: vec![inbox.clone(), other_mailbox.clone(), folder_id.clone()],
        },
    );
    for (i, traversal) in [
        FolderTraversal::Shallow,
        FolderTraversal::Deep,
        FolderTraversal::SoftDeleted,
    ]
    .into_iter()
    .enumerate()
    {
        r.add(
            &format!("findfolder-{i}"),
            &FindFolder {
                traversal,
                shape: FolderShape::new(BaseShape::Default),
                paging: (i == 1).then(|| IndexedPageView::new(10, 100)),
                restriction: (i == 1)
                    .then(|| Restriction::contains(FieldUri::FOLDER_DISPLAY_NAME, "Archive")),
                parent_folder_ids: vec![DistinguishedFolderName::MsgFolderRoot.into()],
            },
        );
    }
    r.add(
        "createfolder",
        &CreateFolder {
            parent_folder_id: folder_id.clone(),
            folders: vec![
                NewFolder::mail("Projects"),
                NewFolder {
                    kind: FolderKind::CalendarFolder,
                    display_name: "Team calendar".into(),
                    folder_class: None,
                    extended_properties: vec![ExtendedProperty::new(
                        named("X-Exsync-Folder", MapiPropertyType::String),
                        "1",
                    )],
                },
                NewFolder {
                    kind: FolderKind::ContactsFolder,
                    display_name: "Leads".into(),
                    folder_class: Some("IPF.Contact".into()),
                    extended_properties: vec![],
                },
                NewFolder {
                    kind: FolderKind::TasksFolder,
                    display_name: "Follow-ups".into(),
                    folder_class: Some("IPF.Task".into()),
                    extended_properties: vec![],
                },
            ],
        },
    );

    // Sync.
    r.add(
        "syncfolderitems-first",
        &SyncFolderItems {
            shape: ItemShape::id_only(),
            folder_id: inbox.clone(),
            sync_state: None,
            ignore: vec![],
            max_changes_returned: MaxChangesReturned::MAX,
            sync_scope: None,
        },
    );
    r.add(
        "syncfolderitems-next",
        &SyncFolderItems {
            shape: rich_shape.clone(),
            folder_id: folder_id.clone(),
            sync_state: Some(SyncState("H4sIAAAAAAAEAO29B2AcSZYlJi9tynt".into())),
            ignore: vec![
                ItemId::with_change_key("AQApAHRAA==", "CQAAABY"),
                ItemId::new("B"),
            ],
            max_changes_returned: MaxChangesReturned::new(1).expect("1"),
            sync_scope: Some(SyncScope::NormalAndAssociatedItems),
        },
    );

    // Reading items.
    r.add(
        "getitem",
        &GetItem {
            shape: rich_shape.clone(),
            item_ids: vec![ItemId::with_change_key("A", "CK"), ItemId::new("B")],
        },
    );
    for (i, restriction) in every_restriction().into_iter().enumerate() {
        r.add(
            &format!("finditem-restriction-{i:02}"),
            &FindItem {
                traversal: ItemTraversal::Shallow,
                shape: ItemShape::id_only(),
                paging: Some(IndexedPageView::new(0, 250)),
                restriction: Some(restriction),
                sort_order: vec![],
                parent_folder_ids: vec![inbox.clone()],
            },
        );
    }
    for (i, traversal) in [
        ItemTraversal::Shallow,
        ItemTraversal::SoftDeleted,
        ItemTraversal::Associated,
    ]
    .into_iter()
    .enumerate()
    {
        r.add(
            &format!("finditem-traversal-{i}"),
            &FindItem {
                traversal,
                shape: ItemShape::new(BaseShape::Default),
                paging: Some(IndexedPageView {
                    max_entries_returned: None,
                    offset: 5,
                    base_point: IndexBasePoint::End,
                }),
                restriction: None,
                sort_order: vec![
                    SortOrder {
                        path: FieldUri::ITEM_DATE_TIME_RECEIVED.into(),
                        direction: SortDirection::Descending,
                    },
                    SortOrder {
                        path: FieldUri::ITEM_SUBJECT.into(),
                        direction: SortDirection::Ascending,
                    },
                ],
                parent_folder_ids: vec![inbox.clone(), folder_id.clone()],
            },
        );
    }

    // Creating items: every disposition, every invitation mode, every item kind.
    for (i, disposition) in [
        MessageDisposition::SaveOnly,
        MessageDisposition::SendOnly,
        MessageDisposition::SendAndSaveCopy,
    ]
    .into_iter()
    .enumerate()
    {
        r.add(
            &format!("createitem-message-{i}"),
            &CreateItem::messages(
                disposition,
                (disposition != MessageDisposition::SendOnly)
                    .then(|| DistinguishedFolderName::SentItems.into()),
                [full_message(), mime_message()],
            ),
        );
    }
    for (i, send) in [
        SendMeetingInvitations::SendToNone,
        SendMeetingInvitations::SendOnlyToAll,
        SendMeetingInvitations::SendToAllAndSaveCopy,
    ]
    .into_iter()
    .enumerate()
    {
        r.add(
            &format!("createitem-calendar-{i}"),
            &CreateItem::calendar_items(
                send,
                Some(DistinguishedFolderName::Calendar.into()),
                [full_calendar_item()],
            ),
        );
    }
    r.add(
        "createitem-contact",
        &CreateItem::items(
            Some(DistinguishedFolderName::Contacts.into()),
            [full_contact().into()],
        ),
    );
    r.add(
        "createitem-task",
        &CreateItem::items(
            Some(DistinguishedFolderName::Tasks.into()),
            [full_task().into()],
        ),
    );
    r.add(
        "createitem-mixed",
        &CreateItem {
            message_disposition: Some(MessageDisposition::SaveOnly),
            send_meeting_invitations: Some(SendMeetingInvitations::SendToNone),
            saved_item_folder_id: None,
            items: vec![
                Message::default().into(),
                CalendarItem::default().into(),
                Contact::default().into(),
                Task::default().into(),
            ],
        },
    );

    // Updating items: every kind of change, on every kind of path, every option.
    let ext = named("X-Exsync-Id", MapiPropertyType::String);
    let updates = vec![
        ItemUpdate::Set {
            path: FieldUri::ITEM_SUBJECT.into(),
            item: Message {
                subject: Some("New subject".into()),
                ..Message::default()
            }
            .into(),
        },
        ItemUpdate::Set {
            path: FieldUri::MESSAGE_IS_READ.into(),
            item: Message {
                is_read: Some(true),
                ..Message::default()
            }
            .into(),
        },
        ItemUpdate::Append {
            path: FieldUri::MESSAGE_TO_RECIPIENTS.into(),
            item: Message {
                to_recipients: vec![Mailbox::smtp("frank@example.com")],
                ..Message::default()
            }
            .into(),
        },
        ItemUpdate::Append {
            path: FieldUri::ITEM_BODY.into(),
            item: Message {
                body: Some(Body::text(" (updated)")),
                ..Message::default()
            }
            .into(),
        },
        ItemUpdate::set_extended(
            ItemKind::Message,
            ExtendedProperty::new(ext.clone(), "act-43"),
        ),
        ItemUpdate::Delete(FieldUri::ITEM_CATEGORIES.into()),
        ItemUpdate::delete_extended(ext.clone()),
    ];
    for (i, conflict_resolution) in [
        ConflictResolution::NeverOverwrite,
        ConflictResolution::AutoResolve,
        ConflictResolution::AlwaysOverwrite,
    ]
    .into_iter()
    .enumerate()
    {
        r.add(
            &format!("updateitem-message-{i}"),
            &UpdateItem {
                conflict_resolution,
                message_disposition: Some(MessageDisposition::SaveOnly),
                send_meeting_invitations_or_cancellations: None,
                saved_item_folder_id: Some(DistinguishedFolderName::Drafts.into()),
                changes: vec![ItemChange {
                    item_id: ItemId::with_change_key("I", "CK"),
                    updates: updates.clone(),
                }],
            },
        );
    }
    for (i, send) in [
        SendMeetingInvitationsOrCancellations::SendToNone,
        SendMeetingInvitationsOrCancellations::SendOnlyToAll,
        SendMeetingInvitationsOrCancellations::SendOnlyToChanged,
        SendMeetingInvitationsOrCancellations::SendToAllAndSaveCopy,
        SendMeetingInvitationsOrCancellations::SendToChangedAndSaveCopy,
    ]
    .into_iter()
    .enumerate()
    {
        r.add(
            &format!("updateitem-calendar-{i}"),
            &UpdateItem {
                send_meeting_invitations_or_cancellations: Some(send),
                ..UpdateItem::new(vec![ItemChange {
                    item_id: ItemId::new("C"),
                    updates: vec![
                        ItemUpdate::Set {
                            path: FieldUri::CALENDAR_START.into(),
                            item: CalendarItem {
                                start: Some(t("2024-05-01T11:00:00Z")),
                                ..CalendarItem::default()
                            }
                            .into(),
                        },
                        ItemUpdate::Set {
                            path: FieldUri::CALENDAR_LEGACY_FREE_BUSY_STATUS.into(),
                            item: CalendarItem {
                                legacy_free_busy_status: Some(LegacyFreeBusyStatus::Tentative),
                                ..CalendarItem::default()
                            }
                            .into(),
                        },
                        ItemUpdate::Append {
                            path: FieldUri::CALENDAR_REQUIRED_ATTENDEES.into(),
                            item: CalendarItem {
                                required_attendees: vec![Attendee::new(Mailbox::smtp(
                                    "g@example.com",
                                ))],
                                ..CalendarItem::default()
                            }
                            .into(),
                        },
                        ItemUpdate::set_extended(
                            ItemKind::CalendarItem,
                            ExtendedProperty::new(ext.clone(), "x"),
                        ),
                        ItemUpdate::Delete(FieldUri::CALENDAR_LOCATION.into()),
                    ],
                }])
            },
        );
    }
    r.add(
        "updateitem-contact-and-task",
        &UpdateItem::new(vec![
            ItemChange {
                item_id: ItemId::new("K"),
                updates: vec![
                    ItemUpdate::Set {
                        path: IndexedFieldUri::email_address(EmailAddressKey::EmailAddress1).into(),
                        item: Contact {
                            email_addresses: vec![EmailAddressEntry {
                                key: EmailAddressKey::EmailAddress1,
                                address: "new@contoso.com".into(),
                                name: None,
                            }],
                            ..Contact::default()
                        }
                        .into(),
                    },
                    ItemUpdate::Set {
                        path: IndexedFieldUri::phone_number(&PhoneNumberKey::MobilePhone).into(),
                        item: Contact {
                            phone_numbers: vec![PhoneNumberEntry {
                                key: PhoneNumberKey::MobilePhone,
                                number: "+1 555 0199".into(),
                            }],
                            ..Contact::default()
                        }
                        .into(),
                    },
                    ItemUpdate::Delete(
                        IndexedFieldUri::email_address(EmailAddressKey::EmailAddress2).into(),
                    ),
                    ItemUpdate::set_extended(
                        ItemKind::Contact,
                        ExtendedProperty::new(ext.clone(), "y"),
                    ),
                ],
            },
            ItemChange {
                item_id: ItemId::new("T"),
                updates: vec![
                    ItemUpdate::Set {
                        path: FieldUri::TASK_STATUS.into(),
                        item: Task {
                            status: Some(TaskStatus::InProgress),
                            ..Task::default()
                        }
                        .into(),
                    },
                    ItemUpdate::Set {
                        path: FieldUri::TASK_PERCENT_COMPLETE.into(),
                        item: Task {
                            percent_complete: Some(37.5),
                            ..Task::default()
                        }
                        .into(),
                    },
                    ItemUpdate::set_extended(ItemKind::Task, ExtendedProperty::new(ext, "z")),
                ],
            },
        ]),
    );

    // ACT sync's attendee update: the whole collection replaced, the other one emptied,
    // and nobody told (exsync mirrors what the user did; it never mails attendees itself).
    r.add(
        "updateitem-attendees-send-to-none",
        &UpdateItem {
            send_meeting_invitations_or_cancellations: Some(
                SendMeetingInvitationsOrCancellations::SendToNone,
            ),
            ..UpdateItem::new(vec![ItemChange {
                item_id: ItemId::with_change_key("C", "CK"),
                updates: vec![
                    ItemUpdate::Set {
                        path: FieldUri::CALENDAR_REQUIRED_ATTENDEES.into(),
                        item: CalendarItem {
                            required_attendees: vec![
                                Attendee::new(Mailbox::smtp("bob@example.com")),
                                Attendee::new(Mailbox::named("Carol", "carol@example.com")),
                            ],
                            ..CalendarItem::default()
                        }
                        .into(),
                    },
                    ItemUpdate::Delete(FieldUri::CALENDAR_OPTIONAL_ATTENDEES.into()),
                ],
            }])
        },
    );
    // ACT sync's read of changed calendar items asks for the attendees by name.
    let mut act_shape = ItemShape::new(BaseShape::AllProperties).with_properties([
        FieldUri::ITEM_CATEGORIES.into(),
        FieldUri::ITEM_LAST_MODIFIED_TIME.into(),
        FieldUri::CALENDAR_REQUIRED_ATTENDEES.into(),
        FieldUri::CALENDAR_OPTIONAL_ATTENDEES.into(),
    ]);
    act_shape.body_type = Some(BodyTypeResponse::Text);
    r.add(
        "getitem-calendar-attendees",
        &GetItem {
            shape: act_shape,
            item_ids: vec![ItemId::new("C")],
        },
    );

    // Deleting, moving, attachments.
    for (i, delete_type) in [
        DeleteType::HardDelete,
        DeleteType::SoftDelete,
        DeleteType::MoveToDeletedItems,
    ]
    .into_iter()
    .enumerate()
    {
        r.add(
            &format!("deleteitem-{i}"),
            &DeleteItem {
                delete_type,
                send_meeting_cancellations: (i > 0).then_some(SendMeetingInvitations::SendToNone),
                affected_task_occurrences: (i > 0)
                    .then_some(AffectedTaskOccurrences::AllOccurrences),
                item_ids: vec![ItemId::new("A"), ItemId::with_change_key("B", "CK")],
            },
        );
    }
    r.add(
        "deleteitem-occurrence-only",
        &DeleteItem {
            delete_type: DeleteType::SoftDelete,
            send_meeting_cancellations: Some(SendMeetingInvitations::SendToAllAndSaveCopy),
            affected_task_occurrences: Some(AffectedTaskOccurrences::SpecifiedOccurrenceOnly),
            item_ids: vec![ItemId::new("A")],
        },
    );
    r.add(
        "moveitem",
        &MoveItem {
            to_folder_id: folder_id,
            item_ids: vec![ItemId::new("A"), ItemId::new("B")],
        },
    );
    r.add(
        "moveitem-distinguished",
        &MoveItem {
            to_folder_id: DistinguishedFolderName::JunkEmail.into(),
            item_ids: vec![ItemId::new("A")],
        },
    );
    r.add(
        "getattachment",
        &GetAttachment {
            attachment_ids: vec![
                AttachmentId("AAMkAtt1".into()),
                AttachmentId("AAMkAtt2".into()),
            ],
        },
    );
    r
}

fn write_all(dir: &Path, requests: &Requests) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).expect("temp dir");
    requests
        .0
        .iter()
        .map(|(name, doc)| {
            let path = dir.join(name);
            std::fs::write(&path, doc).expect("write request");
            path
        })
        .collect()
}

#[test]
fn every_request_the_crate_builds_validates_against_the_ews_schema() {
    let schema = schema_dir().join("soap-envelope.xsd");
    assert!(
        schema.is_file(),
        "EWS schema not found at {} (set EXSYNC_EWS_SCHEMA_DIR)",
        schema.display()
    );
    let requests = build_all();
    assert!(
        requests.0.len() > 80,
        "only {} requests built",
        requests.0.len()
    );

    let dir = std::env::temp_dir().join(format!("exsync-ews-schema-{}", std::process::id()));
    let mut files = write_all(&dir, &requests);
    // A control that must be rejected, so a broken check cannot pass silently.
    let control = dir.join("control-invalid.xml");
    let (_, first) = requests
        .0
        .iter()
        .find(|(n, _)| n == "syncfolderitems-first.xml")
        .expect("first sync request");
    std::fs::write(&control, first.replace(">512<", ">513<")).expect("write control");
    files.push(control.clone());

    let output = match Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .args(&files)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!(
            "cannot run xmllint ({e}): install it with `apt-get install -y libxml2-utils` \
             (`make test` does this)"
        ),
    };
    let report = String::from_utf8_lossy(&output.stderr);
    let _ = std::fs::remove_dir_all(&dir);

    let control_name = control.display().to_string();
    let failures: Vec<&str> = report
        .lines()
        .filter(|l| !l.ends_with(" validates") && !l.starts_with(&control_name))
        .collect();
    assert!(
        failures.is_empty(),
        "requests failing the EWS schema:\n{}",
        failures.join("\n")
    );
    assert!(
        report.contains(&format!("{control_name} fails to validate")),
        "the invalid control request was not rejected; is the schema check working?\n{report}"
    );
    let validated = report.lines().filter(|l| l.ends_with(" validates")).count();
    assert_eq!(validated, files.len() - 1, "{report}");
}
