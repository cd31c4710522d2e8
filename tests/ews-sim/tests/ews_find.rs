//! FindItem: restrictions, paging, sorting, CalendarView.

mod ews_support;

use ews_support::*;
use exsync_ews_sim::ews::{IncomingMessage, NewCalendarItem};
use exsync_ews_sim::store::EmailAddress;
use time::macros::datetime;

/// Alice's Inbox: the seed "Welcome" (2024-05-01 08:00) and three more.
fn harness() -> Harness {
    let h = Harness::new();
    for (subject, from, day, id) in [
        ("Alpha", "ann@fabrikam.test", 2, "<a@fabrikam.test>"),
        ("Beta report", "ben@fabrikam.test", 3, "<b@fabrikam.test>"),
        ("Gamma REPORT", "ann@fabrikam.test", 4, "<c@fabrikam.test>"),
    ] {
        h.exchange
            .deliver(
                ALICE,
                IncomingMessage {
                    from: EmailAddress::new(from),
                    subject: subject.into(),
                    message_id: Some(id.into()),
                    received: Some(datetime!(2024-05-01 08:00 UTC) + time::Duration::days(day - 1)),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    h
}

fn subjects(h: &Harness, view: &str, restriction: &str) -> Vec<String> {
    let reply = h.as_svc(
        ALICE,
        &find_item(&dfolder("inbox", None), "Default", view, restriction),
    );
    assert_eq!(codes(&reply), ["NoError"], "{}", reply.body);
    texts(&reply.body, "Subject")
}

fn compare(op: &str, field: &str, value: &str) -> String {
    format!(
        r#"<t:{op}><t:FieldURI FieldURI="{field}"/><t:FieldURIOrConstant><t:Constant Value="{value}"/></t:FieldURIOrConstant></t:{op}>"#
    )
}

#[test]
fn without_a_restriction_items_come_newest_first() {
    let h = harness();
    assert_eq!(
        subjects(&h, "", ""),
        ["Gamma REPORT", "Beta report", "Alpha", "Welcome"]
    );
}

#[test]
fn is_equal_to_matches_the_internet_message_id() {
    let h = harness();
    assert_eq!(
        subjects(
            &h,
            "",
            &is_equal("message:InternetMessageId", "&lt;b@fabrikam.test&gt;")
        ),
        ["Beta report"]
    );
}

#[test]
fn is_not_equal_to_excludes_the_match() {
    let h = harness();
    assert_eq!(
        subjects(&h, "", &compare("IsNotEqualTo", "item:Subject", "alpha")),
        ["Gamma REPORT", "Beta report", "Welcome"]
    );
}

#[test]
fn date_comparisons_select_a_time_window() {
    let h = harness();
    let window = format!(
        "<t:And>{}{}</t:And>",
        compare(
            "IsGreaterThan",
            "item:DateTimeReceived",
            "2024-05-01T12:00:00Z"
        ),
        compare(
            "IsLessThanOrEqualTo",
            "item:DateTimeReceived",
            "2024-05-03T08:00:00Z"
        ),
    );
    assert_eq!(subjects(&h, "", &window), ["Beta report", "Alpha"]);
}

#[test]
fn or_and_not_combine_and_contains_honours_the_comparison_mode() {
    let h = harness();
    let ignore_case = r#"<t:Contains ContainmentMode="Substring" ContainmentComparison="IgnoreCase"><t:FieldURI FieldURI="item:Subject"/><t:Constant Value="report"/></t:Contains>"#;
    let exact = r#"<t:Contains ContainmentMode="Substring" ContainmentComparison="Exact"><t:FieldURI FieldURI="item:Subject"/><t:Constant Value="report"/></t:Contains>"#;
    assert_eq!(
        subjects(&h, "", &format!("<t:Or>{ignore_case}</t:Or>")),
        ["Gamma REPORT", "Beta report"]
    );
    assert_eq!(
        subjects(&h, "", &format!("<t:Or>{exact}</t:Or>")),
        ["Beta report"]
    );
    let not_from_ann = format!(
        "<t:Not>{}</t:Not>",
        compare("IsEqualTo", "message:From", "ann@fabrikam.test")
    );
    assert_eq!(subjects(&h, "", &not_from_ann), ["Beta report", "Welcome"]);
}

#[test]
fn exists_on_in_reply_to_finds_only_replies() {
    let h = harness();
    h.exchange
        .deliver(
            ALICE,
            IncomingMessage {
                from: EmailAddress::new("ann@fabrikam.test"),
                subject: "RE: Alpha".into(),
                in_reply_to: Some("<a@fabrikam.test>".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        subjects(
            &h,
            "",
            r#"<t:Exists><t:FieldURI FieldURI="item:InReplyTo"/></t:Exists>"#
        ),
        ["RE: Alpha"]
    );
}

#[test]
fn indexed_paging_walks_every_item_once() {
    let h = harness();
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let view = format!(
            r#"<m:IndexedPageItemView MaxEntriesReturned="3" Offset="{offset}" BasePoint="Beginning"/>"#
        );
        let reply = h.as_svc(
            ALICE,
            &find_item(&dfolder("inbox", None), "IdOnly", &view, ""),
        );
        seen.extend(attrs(&reply.body, "ItemId", "Id"));
        assert_eq!(attrs(&reply.body, "RootFolder", "TotalItemsInView"), ["4"]);
        offset = attrs(&reply.body, "RootFolder", "IndexedPagingOffset")[0]
            .parse()
            .unwrap();
        if attrs(&reply.body, "RootFolder", "IncludesLastItemInRange") == ["true"] {
            break;
        }
    }
    assert_eq!(seen.len(), 4);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4);
}

#[test]
fn sort_order_by_subject_ascending_overrides_the_default() {
    let h = harness();
    let op = format!(
        r#"<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:SortOrder><t:FieldOrder Order="Ascending"><t:FieldURI FieldURI="item:Subject"/></t:FieldOrder></m:SortOrder><m:ParentFolderIds>{}</m:ParentFolderIds></m:FindItem>"#,
        dfolder("inbox", None)
    );
    let reply = h.as_svc(ALICE, &op);
    assert_eq!(
        texts(&reply.body, "Subject"),
        ["Alpha", "Beta report", "Gamma REPORT", "Welcome"]
    );
}

#[test]
fn find_item_never_returns_bodies() {
    let h = harness();
    let reply = h.as_svc(
        ALICE,
        &find_item(&dfolder("inbox", None), "AllProperties", "", ""),
    );
    assert_eq!(codes(&reply), ["NoError"]);
    assert!(!reply.body.contains("<t:Body"), "{}", reply.body);
    assert!(!reply.body.contains("MimeContent"));
}

#[test]
fn a_restriction_on_a_property_that_cannot_be_searched_fails_the_message() {
    let h = harness();
    let reply = h.as_svc(
        ALICE,
        &find_item(
            &dfolder("inbox", None),
            "IdOnly",
            "",
            r#"<t:Exists><t:FieldURI FieldURI="item:Attachments"/></t:Exists>"#,
        ),
    );
    assert_eq!(codes(&reply), ["ErrorUnsupportedPathForQuery"]);
}

#[test]
fn calendar_view_returns_the_items_overlapping_the_window_by_start() {
    let h = Harness::new();
    for (subject, day) in [("Mon", 3), ("Wed", 5), ("Fri", 7)] {
        let start = datetime!(2024-06-01 09:00 UTC) + time::Duration::days(day - 1);
        h.exchange
            .create_calendar_item(
                ALICE,
                NewCalendarItem {
                    subject: subject.into(),
                    start: Some(start),
                    end: Some(start + time::Duration::hours(1)),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    let view =
        r#"<m:CalendarView StartDate="2024-06-04T00:00:00Z" EndDate="2024-06-08T00:00:00Z"/>"#;
    let reply = h.as_svc(
        ALICE,
        &find_item(&dfolder("calendar", None), "Default", view, ""),
    );
    assert_eq!(texts(&reply.body, "Subject"), ["Wed", "Fri"]);
    assert_eq!(attrs(&reply.body, "RootFolder", "TotalItemsInView"), ["2"]);
}

#[test]
fn each_parent_folder_gets_its_own_answer() {
    let h = harness();
    let folders = format!(
        "{}{}{}",
        dfolder("inbox", None),
        dfolder("sentitems", None),
        r#"<t:FolderId Id="bad"/>"#
    );
    let reply = h.as_svc(ALICE, &find_item(&folders, "IdOnly", "", ""));
    assert_eq!(
        codes(&reply),
        ["NoError", "NoError", "ErrorInvalidIdMalformed"]
    );
    assert_eq!(
        attrs(&reply.body, "RootFolder", "TotalItemsInView"),
        ["4", "0"]
    );
}
