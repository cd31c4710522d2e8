//! `exsync ews decode` on published fixtures (EWS and Autodiscover) and on documents it must
//! refuse: JSON and exit 0, or exactly one line on stderr and exit 1, never a panic.

mod support;

use std::path::{Path, PathBuf};

use support::*;

fn decode(path: &Path) -> Run {
    run(&["ews", "decode", path.to_str().unwrap()])
}

/// A scratch file with `bytes`, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str, bytes: &[u8]) -> Self {
        let dir =
            std::env::temp_dir().join(format!("exsync-cli-decode-{}-{}", std::process::id(), name));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The refusal contract: exit 1, nothing on stdout, one line on stderr that starts with the
/// file's name, no panic.
fn assert_refused(run: &Run, name: &str) -> String {
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(run.stdout.is_empty(), "{run:#?}");
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 1, "expected one line:\n{}", run.stderr);
    let line = lines[0];
    assert!(!line.contains("panicked"), "{line}");
    let prefix = format!("exsync: {name}: ");
    assert!(line.starts_with(&prefix), "{line}");
    line[prefix.len()..].to_owned()
}

#[test]
fn sync_folder_items_shows_changes_sync_state_and_the_last_item_flag() {
    let run = decode(&fixture("syncfolderitems-changes.xml"));
    assert_eq!(run.code, Some(0), "{run:#?}");
    let v = run.json();
    assert_eq!(v["document"], "ews");
    assert_eq!(v["operation"], "SyncFolderItems");
    let message = &v["messages"][0];
    assert_eq!(message["response_class"], "Success");
    assert_eq!(message["code"], "NoError");
    assert!(
        message["sync_state"]
            .as_str()
            .unwrap()
            .starts_with("H4sIAAAAAAAEAO29B2AcSZYlJi9tynt"),
        "{message:#}"
    );
    assert_eq!(message["includes_last_item_in_range"], false);
    let first = &message["changes"][0];
    assert_eq!(first["change"], "create");
    assert_eq!(first["item"]["item_id"]["id"], "AAMkAG1");
    assert_eq!(first["item"]["item_id"]["change_key"], "CQAAAA1");
}

#[test]
fn get_item_shows_ids_sender_and_times_but_no_body() {
    let run = decode(&fixture("getitem-message.xml"));
    assert_eq!(run.code, Some(0), "{run:#?}");
    let v = run.json();
    assert_eq!(v["operation"], "GetItem");
    assert_eq!(v["server_version"]["major_version"], 8);
    let item = &v["messages"][0]["items"][0];
    assert_eq!(item["item_id"]["id"], "AAAlAFVz");
    assert_eq!(item["item_id"]["change_key"], "CQAAAB");
    assert_eq!(item["from"], "User2@example.com");
    assert_eq!(item["date_time_sent"], "2006-10-28T01:37:06Z");
    assert!(!run.stdout.contains("owaParaStyle"), "bodies stay out");
}

#[test]
fn a_throttling_fault_shows_its_code_class_and_back_off() {
    let run = decode(&fixture("fault-server-busy.xml"));
    assert_eq!(run.code, Some(0), "{run:#?}");
    let v = run.json();
    assert_eq!(v["operation"], "fault");
    assert_eq!(v["fault"]["code"], "ErrorServerBusy");
    assert_eq!(v["fault"]["class"], "Transient");
    assert_eq!(v["fault"]["back_off_ms"], 29250);
}

#[test]
fn a_per_item_error_keeps_its_response_class_code_and_text() {
    let run = decode(&fixture("getitem-batch-one-error.xml"));
    assert_eq!(run.code, Some(0), "{run:#?}");
    let v = run.json();
    let errors: Vec<&serde_json::Value> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["response_class"] == "Error")
        .collect();
    assert_eq!(errors.len(), 1, "{v:#}");
    assert!(errors[0]["code"].as_str().unwrap().starts_with("Error"));
    assert!(errors[0]["message_text"].is_string(), "{v:#}");
}

#[test]
fn get_folder_shows_the_folder() {
    let run = decode(&fixture("getfolder-success.xml"));
    assert_eq!(run.code, Some(0), "{run:#?}");
    let v = run.json();
    assert_eq!(v["operation"], "GetFolder");
    assert!(v["messages"][0]["folders"][0]["folder_id"]["id"].is_string());
}

#[test]
fn autodiscover_settings_show_the_ews_url() {
    let run = decode(&fixture("autodiscover/pox-settings-exchange2013.xml"));
    assert_eq!(run.code, Some(0), "{run:#?}");
    let v = run.json();
    assert_eq!(v["document"], "autodiscover");
    assert_eq!(v["action"], "settings");
    assert_eq!(v["ews_url"], "https://mail.contoso.com/EWS/Exchange.asmx");
}

#[test]
fn autodiscover_redirect_addr_shows_the_new_address() {
    let run = decode(&fixture("autodiscover/pox-redirect-addr.xml"));
    assert_eq!(run.code, Some(0), "{run:#?}");
    let v = run.json();
    assert_eq!(v["action"], "redirect_addr");
    assert_eq!(v["address"], "elvin@mail.contoso.com");
}

#[test]
fn autodiscover_error_shows_its_code() {
    let run = decode(&fixture("autodiscover/pox-error-600.xml"));
    assert_eq!(run.code, Some(0), "{run:#?}");
    let v = run.json();
    assert_eq!(v["action"], "error");
    assert_eq!(v["code"], "600");
    assert_eq!(v["message"], "Invalid Request");
}

#[test]
fn dash_reads_standard_input() {
    use std::io::Write as _;
    use std::process::Stdio;
    let bytes = std::fs::read(fixture("fault-server-busy.xml")).unwrap();
    let mut child = exsync()
        .args(["ews", "decode", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let run: Run = child.wait_with_output().unwrap().into();
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert_eq!(run.json()["fault"]["code"], "ErrorServerBusy");
}

#[test]
fn a_truncated_response_is_malformed_xml_at_a_byte_offset() {
    let whole = std::fs::read(fixture("finditem-success.xml")).unwrap();
    let text = String::from_utf8(whole).unwrap();
    // Cut inside the items, past the leading comment, so the reader gets into the elements.
    let cut = text.find("</t:Message>").unwrap();
    let file = Scratch::new("truncated.xml", &text.as_bytes()[..cut]);
    let name = file.0.display().to_string();
    let what = assert_refused(&decode(&file.0), &name);
    assert!(what.starts_with("malformed XML at byte "), "{what}");
}

#[test]
fn an_html_error_page_is_not_an_ews_or_autodiscover_document() {
    let path = fixture("html-error-page.html");
    let what = assert_refused(&decode(&path), &path.display().to_string());
    assert_eq!(
        what,
        "not an EWS or Autodiscover document (root element {}html)"
    );
}

#[test]
fn an_html5_page_is_named_as_an_html_page() {
    let file = Scratch::new(
        "page.html",
        b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head><body><br></body></html>",
    );
    let what = assert_refused(&decode(&file.0), &file.0.display().to_string());
    assert!(
        what.starts_with("an HTML page, not an EWS or Autodiscover document"),
        "{what}"
    );
}

#[test]
fn an_empty_file_is_refused_as_empty() {
    let file = Scratch::new("empty.xml", b"");
    let what = assert_refused(&decode(&file.0), &file.0.display().to_string());
    assert!(what.starts_with("empty document"), "{what}");
}

#[test]
fn a_missing_file_cannot_be_read() {
    let path = std::env::temp_dir().join("exsync-cli-decode-does-not-exist.xml");
    let what = assert_refused(&decode(&path), &path.display().to_string());
    assert!(what.starts_with("cannot read: "), "{what}");
}

#[test]
fn a_directory_cannot_be_read() {
    let dir = fixture("autodiscover");
    let what = assert_refused(&decode(&dir), &dir.display().to_string());
    assert!(what.starts_with("cannot read: "), "{what}");
}

#[test]
fn binary_garbage_is_refused_without_a_panic() {
    // Deterministic bytes that are neither UTF-8 text nor XML.
    let bytes: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = Scratch::new("garbage.bin", &bytes);
    let what = assert_refused(&decode(&file.0), &file.0.display().to_string());
    assert!(
        what.starts_with("malformed XML at byte ") || what.starts_with("not XML"),
        "{what}"
    );
}

#[test]
fn a_soap_envelope_without_an_ews_body_is_named_invalid_ews() {
    let file = Scratch::new(
        "foreign.xml",
        br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x:Ping xmlns:x="urn:example"/></s:Body></s:Envelope>"#,
    );
    let what = assert_refused(&decode(&file.0), &file.0.display().to_string());
    assert!(what.starts_with("not a valid EWS response: "), "{what}");
}
