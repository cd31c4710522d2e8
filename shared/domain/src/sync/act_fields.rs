//! The fields appointments, contacts and tasks sync, on both sides: each exsync entity and
//! each EWS item reduced to the same map of field name → canonical text, so "did this
//! field change since the last sync?" is one string comparison on either side, and a
//! change made by exsync itself (seen again in the next SyncFolderItems) compares equal and
//! goes nowhere.
//!
//! Canonical text: strings as they are (trimmed, line endings as `\n`), times as
//! `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds, what EWS round-trips), booleans as
//! `true`/`false`, task status as EWS spells it, percentages as whole numbers, attendee
//! lists as their lower-cased addresses, sorted, without duplicates, one a line (so order,
//! letter case and display names never make a change), an absent value as the empty
//! string. Field names are those of [`crate::org::synced_fields`].
//!
//! Attendees are written as the calendar item's `RequiredAttendees`/`OptionalAttendees`
//! without telling anyone (`SendToNone`, see [`super::act`]): exsync mirrors the
//! appointment the user or the CRM made; it never sends an invitation of its own. An
//! Exchange attendee without an SMTP address (no `EmailAddress`, a legacy `EX` DN) is
//! skipped; display names are not kept, the exsync record holds addresses only.
//!
//! Not synced yet (named in the org settings, always `both` there): `regarding`
//! (exsync-only).
//!
//! References: [CalendarItem](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/calendaritem),
//! [Contact](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/contact),
//! [Task](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/task),
//! [SetItemField](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/setitemfield).

use std::collections::BTreeMap;

use exsync_ews::operations::ItemUpdate;
use exsync_ews::types::{
    Attendee, Body, CalendarItem, Contact, DateTime, EmailAddressEntry, EmailAddressKey, FieldUri,
    IndexedFieldUri, Item, Mailbox, NewItem, PhoneNumberEntry, PhoneNumberKey, PropertyPath, Task,
    TaskStatus as EwsTaskStatus,
};
use time::OffsetDateTime;

use crate::activity::{Appointment, ContactActivity, TaskActivity, TaskStatus};
use crate::ids::{ActivityId, EmailAddress, Principal};
use crate::org::ActEntity;

/// Field name → canonical value.
pub type FieldValues = BTreeMap<String, String>;

/// The fields each entity syncs (a subset of [`crate::org::synced_fields`]).
pub fn fields_of(entity: ActEntity) -> &'static [&'static str] {
    match entity {
        ActEntity::Appointment => &[
            "subject",
            "start",
            "end",
            "all_day",
            "location",
            "body",
            "required_attendees",
            "optional_attendees",
        ],
        ActEntity::Contact => &[
            "first_name",
            "last_name",
            "email",
            "company",
            "job_title",
            "business_phone",
            "mobile_phone",
        ],
        ActEntity::Task => &["subject", "body", "due", "status", "percent_complete"],
    }
}

/// A time as canonical text.
pub fn time_text(t: OffsetDateTime) -> String {
    DateTime(t).to_ews()
}

fn parse_time(s: &str) -> Option<OffsetDateTime> {
    DateTime::parse(s).map(|d| d.0)
}

fn text(s: &str) -> String {
    s.replace("\r\n", "\n").trim().to_owned()
}

fn opt_text(s: Option<&str>) -> String {
    s.map(text).unwrap_or_default()
}

fn opt_time(t: Option<&DateTime>) -> String {
    t.map(|d| time_text(d.0)).unwrap_or_default()
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// An attendee list as canonical text: lower-cased addresses, sorted, each once, one a line.
fn attendees_text<'a>(addresses: impl IntoIterator<Item = &'a str>) -> String {
    let set: std::collections::BTreeSet<String> = addresses
        .into_iter()
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| !a.is_empty())
        .collect();
    set.into_iter().collect::<Vec<_>>().join("\n")
}

/// The addresses of canonical attendee text; `None` when one is not an address.
fn parse_attendees(value: &str) -> Option<Vec<EmailAddress>> {
    value
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(EmailAddress::parse)
        .collect()
}

/// The SMTP addresses of EWS attendees as canonical text. An attendee without an address
/// or with one that is not SMTP-shaped (a legacy `EX` DN) is skipped: exsync could neither
/// keep nor write it back.
fn ews_attendees_text(list: &[Attendee]) -> String {
    let parsed: Vec<EmailAddress> = list
        .iter()
        .filter(|a| {
            a.mailbox
                .routing_type
                .as_deref()
                .is_none_or(|r| r.eq_ignore_ascii_case("SMTP"))
        })
        .filter_map(|a| a.mailbox.email_address.as_deref())
        .filter_map(EmailAddress::parse)
        .collect();
    attendees_text(parsed.iter().map(EmailAddress::as_str))
}

/// EWS attendees for canonical attendee text (no display names: Exchange resolves them).
fn ews_attendees(value: Option<&String>) -> Vec<Attendee> {
    value
        .and_then(|v| parse_attendees(v))
        .unwrap_or_default()
        .into_iter()
        .map(|a| Attendee::new(Mailbox::smtp(a.as_str())))
        .collect()
}

fn status_text(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::NotStarted => "NotStarted",
        TaskStatus::InProgress => "InProgress",
        TaskStatus::Completed => "Completed",
        TaskStatus::WaitingOnOthers => "WaitingOnOthers",
        TaskStatus::Deferred => "Deferred",
    }
}

fn parse_status(s: &str) -> TaskStatus {
    match s {
        "InProgress" => TaskStatus::InProgress,
        "Completed" => TaskStatus::Completed,
        "WaitingOnOthers" => TaskStatus::WaitingOnOthers,
        "Deferred" => TaskStatus::Deferred,
        _ => TaskStatus::NotStarted,
    }
}

/// An exsync appointment, contact or task, as ACT sync sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActRecord {
    /// An appointment.
    Appointment(Appointment),
    /// A contact.
    Contact(ContactActivity),
    /// A task.
    Task(TaskActivity),
}

impl ActRecord {
    /// Which kind.
    pub fn entity(&self) -> ActEntity {
        match self {
            ActRecord::Appointment(_) => ActEntity::Appointment,
            ActRecord::Contact(_) => ActEntity::Contact,
            ActRecord::Task(_) => ActEntity::Task,
        }
    }

    /// Its id.
    pub fn id(&self) -> &ActivityId {
        match self {
            ActRecord::Appointment(a) => &a.id,
            ActRecord::Contact(c) => &c.id,
            ActRecord::Task(t) => &t.id,
        }
    }

    /// Who owns it.
    pub fn owner(&self) -> &Principal {
        match self {
            ActRecord::Appointment(a) => &a.owner,
            ActRecord::Contact(c) => &c.owner,
            ActRecord::Task(t) => &t.owner,
        }
    }

    /// When exsync last changed it.
    pub fn modified_at(&self) -> OffsetDateTime {
        match self {
            ActRecord::Appointment(a) => a.modified_at,
            ActRecord::Contact(c) => c.modified_at,
            ActRecord::Task(t) => t.modified_at,
        }
    }

    /// Its stored version (optimistic concurrency).
    pub fn version(&self) -> u64 {
        match self {
            ActRecord::Appointment(a) => a.version,
            ActRecord::Contact(c) => c.version,
            ActRecord::Task(t) => t.version,
        }
    }

    /// Marks a write: next version, modified now.
    pub fn touch(&mut self, now: OffsetDateTime) {
        let (v, m) = match self {
            ActRecord::Appointment(a) => (&mut a.version, &mut a.modified_at),
            ActRecord::Contact(c) => (&mut c.version, &mut c.modified_at),
            ActRecord::Task(t) => (&mut t.version, &mut t.modified_at),
        };
        *v += 1;
        *m = now;
    }

    /// An empty record of `entity` for `owner`, to be filled from Exchange.
    pub fn empty(entity: ActEntity, owner: Principal, now: OffsetDateTime) -> ActRecord {
        let id = ActivityId::new();
        match entity {
            ActEntity::Appointment => ActRecord::Appointment(Appointment {
                id,
                owner,
                subject: String::new(),
                start: now,
                end: now,
                all_day: false,
                location: String::new(),
                body: String::new(),
                required_attendees: Vec::new(),
                optional_attendees: Vec::new(),
                regarding: None,
                version: 0,
                modified_at: now,
            }),
            ActEntity::Contact => ActRecord::Contact(ContactActivity {
                id,
                owner,
                first_name: String::new(),
                last_name: String::new(),
                email: None,
                company: String::new(),
                job_title: String::new(),
                business_phone: String::new(),
                mobile_phone: String::new(),
                version: 0,
                modified_at: now,
            }),
            ActEntity::Task => ActRecord::Task(TaskActivity {
                id,
                owner,
                subject: String::new(),
                body: String::new(),
                due: None,
                status: TaskStatus::NotStarted,
                percent_complete: 0,
                regarding: None,
                version: 0,
                modified_at: now,
            }),
        }
    }

    /// Every synced field's canonical value.
    pub fn values(&self) -> FieldValues {
        let pairs: Vec<(&str, String)> = match self {
            ActRecord::Appointment(a) => vec![
                ("subject", text(&a.subject)),
                ("start", time_text(a.start)),
                ("end", time_text(a.end)),
                ("all_day", a.all_day.to_string()),
                ("location", text(&a.location)),
                ("body", text(&a.body)),
                (
                    "required_attendees",
                    attendees_text(a.required_attendees.iter().map(EmailAddress::as_str)),
                ),
                (
                    "optional_attendees",
                    attendees_text(a.optional_attendees.iter().map(EmailAddress::as_str)),
                ),
            ],
            ActRecord::Contact(c) => vec![
                ("first_name", text(&c.first_name)),
                ("last_name", text(&c.last_name)),
                (
                    "email",
                    c.email
                        .as_ref()
                        .map(|e| e.as_str().to_owned())
                        .unwrap_or_default(),
                ),
                ("company", text(&c.company)),
                ("job_title", text(&c.job_title)),
                ("business_phone", text(&c.business_phone)),
                ("mobile_phone", text(&c.mobile_phone)),
            ],
            ActRecord::Task(t) => vec![
                ("subject", text(&t.subject)),
                ("body", text(&t.body)),
                ("due", t.due.map(time_text).unwrap_or_default()),
                ("status", status_text(t.status).to_owned()),
                ("percent_complete", t.percent_complete.to_string()),
            ],
        };
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    /// Sets one field from its canonical value; `false` when the value does not fit the
    /// field (an unparsable time, an invalid address): the field is then left alone.
    pub fn set(&mut self, field: &str, value: &str) -> bool {
        match self {
            ActRecord::Appointment(a) => match field {
                "subject" => a.subject = value.to_owned(),
                "location" => a.location = value.to_owned(),
                "body" => a.body = value.to_owned(),
                "all_day" => a.all_day = value == "true",
                "start" => match parse_time(value) {
                    Some(t) => a.start = t,
                    None => return false,
                },
                "end" => match parse_time(value) {
                    Some(t) => a.end = t,
                    None => return false,
                },
                "required_attendees" => match parse_attendees(value) {
                    Some(list) => a.required_attendees = list,
                    None => return false,
                },
                "optional_attendees" => match parse_attendees(value) {
                    Some(list) => a.optional_attendees = list,
                    None => return false,
                },
                _ => return false,
            },
            ActRecord::Contact(c) => match field {
                "first_name" => c.first_name = value.to_owned(),
                "last_name" => c.last_name = value.to_owned(),
                "company" => c.company = value.to_owned(),
                "job_title" => c.job_title = value.to_owned(),
                "business_phone" => c.business_phone = value.to_owned(),
                "mobile_phone" => c.mobile_phone = value.to_owned(),
                "email" if value.is_empty() => c.email = None,
                "email" => match EmailAddress::parse(value) {
                    Some(e) => c.email = Some(e),
                    None => return false,
                },
                _ => return false,
            },
            ActRecord::Task(t) => match field {
                "subject" => t.subject = value.to_owned(),
                "body" => t.body = value.to_owned(),
                "status" => t.status = parse_status(value),
                "percent_complete" => match value.parse::<u8>() {
                    Ok(p) if p <= 100 => t.percent_complete = p,
                    _ => return false,
                },
                "due" if value.is_empty() => t.due = None,
                "due" => match parse_time(value) {
                    Some(d) => t.due = Some(d),
                    None => return false,
                },
                _ => return false,
            },
        }
        true
    }
}

/// The entity an EWS item syncs as, if any.
pub fn entity_of(item: &Item) -> Option<ActEntity> {
    match item {
        Item::CalendarItem(_) => Some(ActEntity::Appointment),
        Item::Contact(_) => Some(ActEntity::Contact),
        Item::Task(_) => Some(ActEntity::Task),
        _ => None,
    }
}

/// The item's categories.
pub fn categories(item: &Item) -> &[String] {
    match item {
        Item::CalendarItem(c) => &c.categories,
        Item::Contact(c) => &c.categories,
        Item::Task(t) => &t.categories,
        _ => &[],
    }
}

/// When Exchange last changed the item.
pub fn last_modified(item: &Item) -> Option<OffsetDateTime> {
    let t = match item {
        Item::CalendarItem(c) => c.last_modified_time.as_ref(),
        Item::Contact(c) => c.last_modified_time.as_ref(),
        Item::Task(t) => t.last_modified_time.as_ref(),
        _ => None,
    };
    t.map(|d| d.0)
}

fn body_text(b: Option<&Body>) -> String {
    b.map(|b| text(&b.text)).unwrap_or_default()
}

/// Every synced field's canonical value on the EWS side; `None` for other item kinds.
pub fn item_values(item: &Item) -> Option<FieldValues> {
    let pairs: Vec<(&str, String)> = match item {
        Item::CalendarItem(c) => vec![
            ("subject", opt_text(c.subject.as_deref())),
            ("start", opt_time(c.start.as_ref())),
            ("end", opt_time(c.end.as_ref())),
            ("all_day", c.is_all_day_event.unwrap_or(false).to_string()),
            ("location", opt_text(c.location.as_deref())),
            ("body", body_text(c.body.as_ref())),
            (
                "required_attendees",
                ews_attendees_text(&c.required_attendees),
            ),
            (
                "optional_attendees",
                ews_attendees_text(&c.optional_attendees),
            ),
        ],
        Item::Contact(c) => vec![
            ("first_name", opt_text(c.given_name.as_deref())),
            ("last_name", opt_text(c.surname.as_deref())),
            (
                "email",
                c.email_addresses
                    .iter()
                    .find(|e| e.key == EmailAddressKey::EmailAddress1)
                    .map(|e| text(&e.address))
                    .unwrap_or_default(),
            ),
            ("company", opt_text(c.company_name.as_deref())),
            ("job_title", opt_text(c.job_title.as_deref())),
            ("business_phone", phone(c, &PhoneNumberKey::BusinessPhone)),
            ("mobile_phone", phone(c, &PhoneNumberKey::MobilePhone)),
        ],
        Item::Task(t) => vec![
            ("subject", opt_text(t.subject.as_deref())),
            ("body", body_text(t.body.as_ref())),
            ("due", opt_time(t.due_date.as_ref())),
            (
                "status",
                t.status
                    .as_ref()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| "NotStarted".to_owned()),
            ),
            (
                "percent_complete",
                t.percent_complete
                    .map(|p| format!("{}", p.clamp(0.0, 100.0).round()))
                    .unwrap_or_else(|| "0".to_owned()),
            ),
        ],
        _ => return None,
    };
    Some(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn phone(c: &Contact, key: &PhoneNumberKey) -> String {
    c.phone_numbers
        .iter()
        .find(|p| &p.key == key)
        .map(|p| text(&p.number))
        .unwrap_or_default()
}

/// A new EWS item carrying `values` (only the fields given) and `categories`.
pub fn new_item(entity: ActEntity, values: &FieldValues, categories: Vec<String>) -> NewItem {
    let v = |f: &str| values.get(f).map(String::as_str).unwrap_or_default();
    match entity {
        ActEntity::Appointment => NewItem::from(CalendarItem {
            subject: values.get("subject").cloned(),
            body: values.get("body").map(|b| Body::text(b.clone())),
            categories,
            start: parse_time(v("start")).map(DateTime),
            end: parse_time(v("end")).map(DateTime),
            is_all_day_event: values.get("all_day").map(|b| b == "true"),
            location: values.get("location").cloned(),
            required_attendees: ews_attendees(values.get("required_attendees")),
            optional_attendees: ews_attendees(values.get("optional_attendees")),
            ..CalendarItem::default()
        }),
        ActEntity::Contact => {
            let display = format!("{} {}", v("first_name"), v("last_name"))
                .trim()
                .to_owned();
            NewItem::from(Contact {
                categories,
                file_as: non_empty(&display),
                display_name: non_empty(&display),
                given_name: values.get("first_name").and_then(|s| non_empty(s)),
                surname: values.get("last_name").and_then(|s| non_empty(s)),
                company_name: values.get("company").and_then(|s| non_empty(s)),
                email_addresses: non_empty(v("email"))
                    .map(|address| EmailAddressEntry {
                        key: EmailAddressKey::EmailAddress1,
                        address,
                        name: None,
                    })
                    .into_iter()
                    .collect(),
                phone_numbers: [
                    (PhoneNumberKey::BusinessPhone, v("business_phone")),
                    (PhoneNumberKey::MobilePhone, v("mobile_phone")),
                ]
                .into_iter()
                .filter_map(|(key, n)| non_empty(n).map(|number| PhoneNumberEntry { key, number }))
                .collect(),
                job_title: values.get("job_title").and_then(|s| non_empty(s)),
                ..Contact::default()
            })
        }
        ActEntity::Task => NewItem::from(Task {
            subject: values.get("subject").cloned(),
            body: values.get("body").map(|b| Body::text(b.clone())),
            categories,
            due_date: parse_time(v("due")).map(DateTime),
            percent_complete: v("percent_complete").parse::<f64>().ok(),
            status: values
                .get("status")
                .map(|s| EwsTaskStatus::parse(s.as_str())),
            ..Task::default()
        }),
    }
}

/// The UpdateItem change that sets one field on the EWS side: `SetItemField` with an item
/// holding just that field, or `DeleteItemField` when the value is empty (EWS refuses an
/// empty string for many properties). `None` for a field that is not synced, or an attendee
/// value that is not a list of addresses.
pub fn field_update(entity: ActEntity, field: &str, value: &str) -> Option<ItemUpdate> {
    let mut one = FieldValues::new();
    one.insert(field.to_owned(), value.to_owned());
    let path: PropertyPath = match (entity, field) {
        (_, "subject") => FieldUri::ITEM_SUBJECT.into(),
        (_, "body") => FieldUri::ITEM_BODY.into(),
        (ActEntity::Appointment, "start") => FieldUri::CALENDAR_START.into(),
        (ActEntity::Appointment, "end") => FieldUri::CALENDAR_END.into(),
        (ActEntity::Appointment, "all_day") => FieldUri::CALENDAR_IS_ALL_DAY_EVENT.into(),
        (ActEntity::Appointment, "location") => FieldUri::CALENDAR_LOCATION.into(),
        // The whole collection: SetItemField replaces it, so a removed attendee goes too.
        (ActEntity::Appointment, "required_attendees") => {
            FieldUri::CALENDAR_REQUIRED_ATTENDEES.into()
        }
        (ActEntity::Appointment, "optional_attendees") => {
            FieldUri::CALENDAR_OPTIONAL_ATTENDEES.into()
        }
        (ActEntity::Contact, "first_name") => FieldUri::CONTACTS_GIVEN_NAME.into(),
        (ActEntity::Contact, "last_name") => FieldUri::CONTACTS_SURNAME.into(),
        (ActEntity::Contact, "company") => FieldUri::CONTACTS_COMPANY_NAME.into(),
        (ActEntity::Contact, "job_title") => FieldUri::CONTACTS_JOB_TITLE.into(),
        (ActEntity::Contact, "email") => PropertyPath::Indexed(IndexedFieldUri::email_address(
            EmailAddressKey::EmailAddress1,
        )),
        (ActEntity::Contact, "business_phone") => PropertyPath::Indexed(
            IndexedFieldUri::phone_number(&PhoneNumberKey::BusinessPhone),
        ),
        (ActEntity::Contact, "mobile_phone") => {
            PropertyPath::Indexed(IndexedFieldUri::phone_number(&PhoneNumberKey::MobilePhone))
        }
        (ActEntity::Task, "due") => FieldUri::TASK_DUE_DATE.into(),
        (ActEntity::Task, "status") => FieldUri::TASK_STATUS.into(),
        (ActEntity::Task, "percent_complete") => FieldUri::TASK_PERCENT_COMPLETE.into(),
        _ => return None,
    };
    // Such a value would be written as an empty collection, and SetItemField would clear
    // Exchange's attendees with it: leave them alone instead.
    if matches!(field, "required_attendees" | "optional_attendees")
        && parse_attendees(value).is_none()
    {
        return None;
    }
    if value.is_empty() {
        return Some(ItemUpdate::Delete(path));
    }
    Some(ItemUpdate::Set {
        path,
        item: new_item(entity, &one, Vec::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn task() -> ActRecord {
        ActRecord::empty(
            ActEntity::Task,
            Principal::parse("rep").unwrap(),
            datetime!(2026-03-01 12:00 UTC),
        )
    }

    #[test]
    fn a_value_set_reads_back_the_same() {
        let mut t = task();
        assert!(t.set("due", "2026-04-01T09:30:00Z"));
        assert!(t.set("percent_complete", "40"));
        assert_eq!(t.values()["due"], "2026-04-01T09:30:00Z");
        assert_eq!(t.values()["percent_complete"], "40");
    }

    #[test]
    fn a_value_that_does_not_fit_leaves_the_field_alone() {
        let mut t = task();
        assert!(!t.set("percent_complete", "140"));
        assert!(!t.set("due", "next week"));
        assert_eq!(t.values()["percent_complete"], "0");
        assert_eq!(t.values()["due"], "");
    }

    #[test]
    fn an_item_built_from_values_reads_back_the_same_values() {
        let mut values = FieldValues::new();
        values.insert("subject".into(), "Call back".into());
        values.insert("due".into(), "2026-04-01T09:30:00Z".into());
        values.insert("status".into(), "InProgress".into());
        let NewItem::Task(t) = new_item(ActEntity::Task, &values, Vec::new()) else {
            panic!("not a task");
        };
        let read = item_values(&Item::Task(t)).unwrap();
        assert_eq!(read["subject"], "Call back");
        assert_eq!(read["due"], "2026-04-01T09:30:00Z");
        assert_eq!(read["status"], "InProgress");
    }

    fn appointment() -> ActRecord {
        ActRecord::empty(
            ActEntity::Appointment,
            Principal::parse("rep").unwrap(),
            datetime!(2026-03-01 12:00 UTC),
        )
    }

    fn calendar_item(required: Vec<Attendee>, optional: Vec<Attendee>) -> Item {
        Item::CalendarItem(Box::new(CalendarItem {
            required_attendees: required,
            optional_attendees: optional,
            ..CalendarItem::default()
        }))
    }

    #[test]
    fn attendee_order_case_names_and_duplicates_make_no_change() {
        let mut a = appointment();
        assert!(a.set("required_attendees", "bob@contoso.test\ncarol@contoso.test"));
        let item = calendar_item(
            vec![
                Attendee::new(Mailbox::named("Carol C", "Carol@Contoso.test")),
                Attendee::new(Mailbox::smtp("bob@contoso.test")),
                Attendee::new(Mailbox::named("Bob again", "BOB@contoso.test")),
            ],
            Vec::new(),
        );
        let theirs = item_values(&item).unwrap();
        assert_eq!(
            theirs["required_attendees"],
            a.values()["required_attendees"]
        );
        assert_eq!(
            theirs["required_attendees"],
            "bob@contoso.test\ncarol@contoso.test"
        );
        assert_eq!(theirs["optional_attendees"], "");
    }

    #[test]
    fn an_added_attendee_is_a_change() {
        let before = item_values(&calendar_item(
            vec![Attendee::new(Mailbox::smtp("bob@contoso.test"))],
            Vec::new(),
        ))
        .unwrap();
        let after = item_values(&calendar_item(
            vec![
                Attendee::new(Mailbox::smtp("bob@contoso.test")),
                Attendee::new(Mailbox::smtp("dan@contoso.test")),
            ],
            Vec::new(),
        ))
        .unwrap();
        assert_ne!(before["required_attendees"], after["required_attendees"]);
        assert_eq!(before["optional_attendees"], after["optional_attendees"]);
    }

    #[test]
    fn an_exchange_attendee_without_an_smtp_address_is_skipped() {
        let ex = Mailbox {
            name: Some("Legacy".into()),
            email_address: Some("/o=Contoso/ou=Exchange/cn=Recipients/cn=legacy".into()),
            routing_type: Some("EX".into()),
            mailbox_type: None,
        };
        let v = item_values(&calendar_item(
            vec![
                Attendee::new(ex),
                Attendee::new(Mailbox::default()),
                Attendee::new(Mailbox::named("No address", "")),
                Attendee::new(Mailbox::smtp("not an address")),
            ],
            vec![Attendee::new(Mailbox::smtp("erin@fabrikam.test"))],
        ))
        .unwrap();
        assert_eq!(v["required_attendees"], "");
        assert_eq!(v["optional_attendees"], "erin@fabrikam.test");
    }

    #[test]
    fn attendees_set_from_exchange_land_in_the_record_lists() {
        let mut a = appointment();
        assert!(a.set("required_attendees", "bob@contoso.test"));
        assert!(a.set(
            "optional_attendees",
            "carol@contoso.test\nerin@fabrikam.test"
        ));
        let ActRecord::Appointment(appt) = &a else {
            panic!("not an appointment");
        };
        let req: Vec<&str> = appt.required_attendees.iter().map(|e| e.as_str()).collect();
        let opt: Vec<&str> = appt.optional_attendees.iter().map(|e| e.as_str()).collect();
        assert_eq!(req, ["bob@contoso.test"]);
        assert_eq!(opt, ["carol@contoso.test", "erin@fabrikam.test"]);
        assert!(a.set("optional_attendees", ""));
        assert_eq!(a.values()["optional_attendees"], "");
    }

    #[test]
    fn an_attendee_value_that_is_not_an_address_leaves_the_list_alone() {
        let mut a = appointment();
        assert!(a.set("required_attendees", "bob@contoso.test"));
        assert!(!a.set("required_attendees", "bob@contoso.test\nnobody"));
        assert_eq!(a.values()["required_attendees"], "bob@contoso.test");
    }

    #[test]
    fn an_appointment_item_built_from_values_carries_its_attendees() {
        let mut a = appointment();
        assert!(a.set("required_attendees", "bob@contoso.test"));
        assert!(a.set("optional_attendees", "carol@contoso.test"));
        let NewItem::CalendarItem(c) = new_item(ActEntity::Appointment, &a.values(), Vec::new())
        else {
            panic!("not a calendar item");
        };
        assert_eq!(
            c.required_attendees[0].mailbox.email_address.as_deref(),
            Some("bob@contoso.test")
        );
        let read = item_values(&Item::CalendarItem(c)).unwrap();
        assert_eq!(read, a.values());
    }

    #[test]
    fn an_attendee_change_replaces_the_whole_collection_and_an_empty_one_deletes_it() {
        let Some(ItemUpdate::Set { path, item }) = field_update(
            ActEntity::Appointment,
            "required_attendees",
            "bob@contoso.test\ndan@contoso.test",
        ) else {
            panic!("not a set");
        };
        assert_eq!(path, FieldUri::CALENDAR_REQUIRED_ATTENDEES.into());
        let NewItem::CalendarItem(c) = item else {
            panic!("not a calendar item");
        };
        assert_eq!(c.required_attendees.len(), 2);
        assert!(c.optional_attendees.is_empty());
        assert!(matches!(
            field_update(ActEntity::Appointment, "optional_attendees", ""),
            Some(ItemUpdate::Delete(p)) if p == FieldUri::CALENDAR_OPTIONAL_ATTENDEES.into()
        ));
    }

    #[test]
    fn an_attendee_value_that_is_not_an_address_list_updates_nothing() {
        for field in ["required_attendees", "optional_attendees"] {
            for value in ["nobody", "bob@contoso.test\nnobody"] {
                assert_eq!(
                    field_update(ActEntity::Appointment, field, value),
                    None,
                    "{field} = {value:?}"
                );
            }
        }
    }

    #[test]
    fn an_emptied_field_is_deleted_on_the_exchange_side() {
        let u = field_update(ActEntity::Contact, "job_title", "").unwrap();
        assert!(matches!(u, ItemUpdate::Delete(_)));
    }
}
