//! GetFolder, FindFolder and CreateFolder.

mod ews_support;

use ews_support::*;

fn get_folder(base: &str, extra: &str, ids: &str) -> String {
    let props = if extra.is_empty() {
        String::new()
    } else {
        format!("<t:AdditionalProperties>{extra}</t:AdditionalProperties>")
    };
    format!(
        "<m:GetFolder><m:FolderShape><t:BaseShape>{base}</t:BaseShape>{props}</m:FolderShape><m:FolderIds>{ids}</m:FolderIds></m:GetFolder>"
    )
}

fn find_folder(traversal: &str, parent: &str, extra: &str) -> String {
    format!(
        "<m:FindFolder Traversal=\"{traversal}\"><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>{extra}<m:ParentFolderIds>{parent}</m:ParentFolderIds></m:FindFolder>"
    )
}

fn create_folder(parent: &str, name: &str, class: &str) -> String {
    format!(
        "<m:CreateFolder><m:ParentFolderId>{parent}</m:ParentFolderId><m:Folders><t:Folder><t:FolderClass>{class}</t:FolderClass><t:DisplayName>{name}</t:DisplayName></t:Folder></m:Folders></m:CreateFolder>"
    )
}

#[test]
fn get_folder_answers_each_distinguished_folder_with_its_counts() {
    let h = Harness::new();
    let ids: String = [
        "inbox",
        "sentitems",
        "drafts",
        "deleteditems",
        "calendar",
        "contacts",
        "tasks",
    ]
    .iter()
    .map(|f| dfolder(f, None))
    .collect();
    let reply = h.as_svc(ALICE, &get_folder("AllProperties", "", &ids));
    assert_eq!(codes(&reply), ["NoError"; 7]);
    assert_eq!(
        texts(&reply.body, "DisplayName"),
        [
            "Inbox",
            "Sent Items",
            "Drafts",
            "Deleted Items",
            "Calendar",
            "Contacts",
            "Tasks"
        ]
    );
    assert_eq!(
        texts(&reply.body, "FolderClass"),
        [
            "IPF.Note",
            "IPF.Note",
            "IPF.Note",
            "IPF.Note",
            "IPF.Appointment",
            "IPF.Contact",
            "IPF.Task"
        ]
    );
    assert_eq!(texts(&reply.body, "TotalCount")[0], "1");
    assert_eq!(texts(&reply.body, "UnreadCount")[0], "1");
    // Calendar and contacts folders have no UnreadCount in the schema.
    assert!(reply.body.contains("<t:CalendarFolder>"));
    assert!(reply.body.contains("<t:ContactsFolder>"));
    assert!(reply.body.contains("<t:TasksFolder>"));
}

#[test]
fn the_root_is_above_msgfolderroot_which_is_above_the_inbox() {
    let h = Harness::new();
    let ids = format!(
        "{}{}{}",
        dfolder("root", None),
        dfolder("msgfolderroot", None),
        dfolder("inbox", None)
    );
    let reply = h.as_svc(ALICE, &get_folder("AllProperties", "", &ids));
    let folder_ids = attrs(&reply.body, "FolderId", "Id");
    let parents = attrs(&reply.body, "ParentFolderId", "Id");
    // root has no parent; msgfolderroot's parent is root; inbox's is msgfolderroot.
    assert_eq!(parents, [folder_ids[0].clone(), folder_ids[1].clone()]);
    assert_eq!(texts(&reply.body, "ChildFolderCount")[1], "9");
}

#[test]
fn unknown_and_newer_field_uris_are_ignored_and_known_ones_come_in_schema_order() {
    let h = Harness::with_validation(false);
    // What exchangelib asks for, including a 2013-only property.
    let extra = r#"<t:FieldURI FieldURI="folder:UnreadCount"/><t:FieldURI FieldURI="folder:DisplayName"/><t:FieldURI FieldURI="folder:EffectiveRights"/><t:FieldURI FieldURI="folder:FolderClass"/><t:FieldURI FieldURI="folder:ParentFolderId"/><t:FieldURI FieldURI="folder:ChildFolderCount"/><t:FieldURI FieldURI="folder:TotalCount"/><t:FieldURI FieldURI="folder:DistinguishedFolderId"/>"#;
    let reply = h.as_svc(
        ALICE,
        &get_folder("IdOnly", extra, &dfolder("inbox", Some(ALICE))),
    );
    assert_eq!(codes(&reply), ["NoError"]);
    assert_eq!(
        child_names(&reply.body, "Folder"),
        [
            "FolderId",
            "ParentFolderId",
            "FolderClass",
            "DisplayName",
            "TotalCount",
            "ChildFolderCount",
            "EffectiveRights",
            "UnreadCount"
        ]
    );
}

#[test]
fn get_folder_by_id_round_trips_and_a_bad_id_fails_only_its_message() {
    let h = Harness::new();
    let first = h.as_svc(
        ALICE,
        &get_folder("IdOnly", "", &dfolder("sentitems", None)),
    );
    let id = attrs(&first.body, "FolderId", "Id").remove(0);
    let ids = format!(
        r#"<t:FolderId Id="{id}"/><t:FolderId Id="not-an-id"/><t:FolderId Id="RkFLRUZBS0VGQUtFRkFLRUZBS0VGQUtFRkFLRUZBS0U="/>"#
    );
    let reply = h.as_svc(ALICE, &get_folder("Default", "", &ids));
    assert_eq!(
        codes(&reply),
        ["NoError", "ErrorInvalidIdMalformed", "ErrorFolderNotFound"]
    );
    assert_eq!(texts(&reply.body, "DisplayName"), ["Sent Items"]);
}

#[test]
fn a_distinguished_folder_the_simulator_does_not_model_is_not_found() {
    let h = Harness::new();
    let reply = h.as_svc(
        ALICE,
        &get_folder("IdOnly", "", &dfolder("voicemail", None)),
    );
    assert_eq!(codes(&reply), ["ErrorFolderNotFound"]);
}

#[test]
fn find_folder_shallow_lists_the_children_and_deep_the_whole_tree() {
    let h = Harness::new();
    let created = h.as_svc(
        ALICE,
        &create_folder(&dfolder("inbox", None), "Projects", "IPF.Note"),
    );
    assert_eq!(codes(&created), ["NoError"]);
    let shallow = h.as_svc(
        ALICE,
        &find_folder("Shallow", &dfolder("msgfolderroot", None), ""),
    );
    assert_eq!(codes(&shallow), ["NoError"]);
    let names = texts(&shallow.body, "DisplayName");
    assert_eq!(names.len(), 9);
    assert!(!names.contains(&"Projects".to_owned()));
    let deep = h.as_svc(ALICE, &find_folder("Deep", &dfolder("root", None), ""));
    let names = texts(&deep.body, "DisplayName");
    assert_eq!(names.len(), 11);
    assert!(names.contains(&"Projects".to_owned()));
    assert_eq!(attrs(&deep.body, "RootFolder", "TotalItemsInView"), ["11"]);
    assert_eq!(
        attrs(&deep.body, "RootFolder", "IncludesLastItemInRange"),
        ["true"]
    );
}

#[test]
fn find_folder_restricts_on_the_display_name() {
    let h = Harness::new();
    h.as_svc(
        ALICE,
        &create_folder(&dfolder("inbox", None), "Projects", "IPF.Note"),
    );
    let restriction = format!(
        "<m:Restriction>{}</m:Restriction>",
        is_equal("folder:DisplayName", "projects")
    );
    let reply = h.as_svc(
        ALICE,
        &find_folder("Deep", &dfolder("msgfolderroot", None), &restriction),
    );
    assert_eq!(texts(&reply.body, "DisplayName"), ["Projects"]);
    // This schema admits Contains only inside And/Or/Not.
    let contains = r#"<m:Restriction><t:And><t:Contains ContainmentMode="Substring" ContainmentComparison="IgnoreCase"><t:FieldURI FieldURI="folder:DisplayName"/><t:Constant Value="item"/></t:Contains></t:And></m:Restriction>"#;
    let reply = h.as_svc(
        ALICE,
        &find_folder("Shallow", &dfolder("msgfolderroot", None), contains),
    );
    assert_eq!(
        texts(&reply.body, "DisplayName"),
        ["Deleted Items", "Sent Items"]
    );
}

#[test]
fn find_folder_pages_with_an_indexed_view() {
    let h = Harness::new();
    let view =
        r#"<m:IndexedPageFolderView MaxEntriesReturned="4" Offset="4" BasePoint="Beginning"/>"#;
    let reply = h.as_svc(
        ALICE,
        &find_folder("Shallow", &dfolder("msgfolderroot", None), view),
    );
    assert_eq!(texts(&reply.body, "DisplayName").len(), 4);
    assert_eq!(
        attrs(&reply.body, "RootFolder", "IndexedPagingOffset"),
        ["8"]
    );
    assert_eq!(
        attrs(&reply.body, "RootFolder", "IncludesLastItemInRange"),
        ["false"]
    );
}

#[test]
fn create_folder_refuses_a_duplicate_name_under_the_same_parent() {
    let h = Harness::new();
    let op = format!(
        "<m:CreateFolder><m:ParentFolderId>{}</m:ParentFolderId><m:Folders><t:Folder><t:DisplayName>Archive</t:DisplayName></t:Folder><t:Folder><t:DisplayName>archive</t:DisplayName></t:Folder><t:CalendarFolder><t:DisplayName>Team</t:DisplayName></t:CalendarFolder></m:Folders></m:CreateFolder>",
        dfolder("msgfolderroot", None)
    );
    let reply = h.as_svc(ALICE, &op);
    assert_eq!(codes(&reply), ["NoError", "ErrorFolderExists", "NoError"]);
    let team = h.as_svc(
        ALICE,
        &find_folder("Shallow", &dfolder("msgfolderroot", None), ""),
    );
    assert!(team.body.contains("<t:CalendarFolder>"));
}

#[test]
fn create_folder_under_a_missing_parent_fails_every_folder() {
    let h = Harness::new();
    let op = create_folder(
        r#"<t:FolderId Id="RkFLRUZBS0VGQUtFRkFLRUZBS0VGQUtFRkFLRUZBS0U="/>"#,
        "X",
        "IPF.Note",
    );
    let reply = h.as_svc(ALICE, &op);
    assert_eq!(codes(&reply), ["ErrorFolderNotFound"]);
}

#[test]
fn a_created_folder_gets_an_id_that_get_folder_resolves() {
    let h = Harness::new();
    let created = h.as_svc(
        ALICE,
        &create_folder(&dfolder("inbox", None), "Receipts", "IPF.Note"),
    );
    let id = attrs(&created.body, "FolderId", "Id").remove(0);
    let reply = h.as_svc(
        ALICE,
        &get_folder("AllProperties", "", &format!(r#"<t:FolderId Id="{id}"/>"#)),
    );
    assert_eq!(texts(&reply.body, "DisplayName"), ["Receipts"]);
    let inbox = h.as_svc(ALICE, &get_folder("Default", "", &dfolder("inbox", None)));
    assert_eq!(texts(&inbox.body, "ChildFolderCount"), ["1"]);
    // Carol has no right to Alice's mailbox, whatever id she holds.
    let carol = h.as_user(
        "carol",
        &get_folder("IdOnly", "", &format!(r#"<t:FolderId Id="{id}"/>"#)),
    );
    assert_eq!(codes(&carol), ["ErrorAccessDenied"]);
}
