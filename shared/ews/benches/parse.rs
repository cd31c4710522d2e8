//! How fast exsync reads the two EWS answers a sync pass spends most of its parsing on, and
//! how much memory that takes.
//!
//! - `syncfolderitems-512`: a first SyncFolderItems answer with 512 `Create` changes in the
//!   `IdOnly` shape, as exsync asks for them.
//! - `getitem-100`: a GetItem answer with 100 messages in the `AllProperties` shape plus
//!   Internet headers, message id and references: recipients, an HTML body of a few KB (the
//!   messages are multipart text + HTML; the server's default body type picks the HTML part),
//!   attachment descriptions.
//!
//! The documents come from the Exchange simulator (requests written by exsync, both directions
//! checked against Microsoft's schema), so they are schema-valid and shaped like a server's.
//! They are written to `$CARGO_TARGET_DIR/bench-data/` so that `scripts/bench_exchangelib.py`
//! parses exactly the same bytes, together with `exsync-memory.json` (peak heap per parse).
//!
//! Peak memory is counted by a global allocator that only counts while a measurement is on, so
//! the timed runs pay one relaxed atomic load per allocation and nothing else.
//!
//! Run with `cargo bench -p exsync-ews --bench parse` (or `make bench`).

use criterion::{Criterion, Throughput};
use exsync_ews::envelope::{read_response_for, write_request};
use exsync_ews::operations::{GetItem, MaxChangesReturned, SyncChange, SyncFolderItems};
use exsync_ews::types::{BaseShape, DistinguishedFolderName, FieldUri, Item, ItemId, ItemShape};
use exsync_ews::xml::Limits;
use exsync_ews_sim::SimConfig;
use exsync_ews_sim::directory::Directory;
use exsync_ews_sim::ews::{EwsCall, Exchange, ExchangeOptions, IncomingMessage};
use exsync_ews_sim::store::{EmailAddress, NewAttachment};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::time::Duration;
use time::OffsetDateTime;

// ----- peak memory ---------------------------------------------------------------------

/// The system allocator, counting live bytes and their high-water mark while `COUNTING` is on.
struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
/// Live bytes relative to when counting started; negative when older memory was freed.
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn signed(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

fn grew(by: isize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`; the counters never touch the memory.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            grew(signed(layout.size()));
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() && COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            grew(signed(layout.size()));
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, hence from `System`, with this layout.
        unsafe { System.dealloc(ptr, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(signed(layout.size()), Ordering::Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; `new_size` is checked by the caller.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() && COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            grew(signed(new_size) - signed(layout.size()));
        }
        new
    }
}

/// What one parse cost in heap memory.
#[derive(Debug, serde::Serialize)]
struct MemoryUse {
    /// Size of the document parsed.
    document_bytes: usize,
    /// Highest heap use during the parse, above what was live before it.
    peak_bytes: isize,
    /// Heap still held by the parsed result when the parse returned.
    retained_bytes: isize,
    /// Allocations (and reallocations) made.
    allocations: usize,
}

/// Runs `parse` once with counting on. `parse` returns its result so that what it retains is
/// counted before it is dropped.
fn measure_memory<T>(document_bytes: usize, parse: impl FnOnce() -> T) -> MemoryUse {
    LIVE.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::SeqCst);
    let result = black_box(parse());
    let retained_bytes = LIVE.load(Ordering::Relaxed);
    COUNTING.store(false, Ordering::SeqCst);
    drop(result);
    MemoryUse {
        document_bytes,
        peak_bytes: PEAK.load(Ordering::Relaxed),
        retained_bytes,
        allocations: ALLOCATIONS.load(Ordering::Relaxed),
    }
}

// ----- realistic mail ----------------------------------------------------------------------

/// SplitMix64: the content is varied but the same on every run, so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        let span = u64::try_from(hi - lo + 1).unwrap_or(u64::MAX);
        lo + usize::try_from(self.next() % span).unwrap_or(0)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.between(0, items.len() - 1)]
    }
}

const MAILBOX: &str = "alice@contoso.test";
const MAILBOX_NAME: &str = "Alice Anders";
const SERVICE_ACCOUNT: &str = "svc-exsync";

/// Correspondents, with the non-ASCII names real address books have.
const PEOPLE: &[(&str, &str, &str)] = &[
    ("Dave Dunn", "dave.dunn@fabrikam.test", "Account Manager"),
    (
        "Émilie Laurent",
        "emilie.laurent@contoso.test",
        "Head of Finance",
    ),
    ("Jürgen Müller", "j.mueller@northwind.test", "Procurement"),
    ("Priya Raman", "priya.raman@contoso.test", "Product Owner"),
    (
        "Kenji Sato",
        "kenji.sato@adatum.test",
        "Solutions Architect",
    ),
    (
        "María José García",
        "mj.garcia@wingtiptoys.test",
        "Operations Lead",
    ),
    ("Olu Adeyemi", "olu.adeyemi@fabrikam.test", "Legal Counsel"),
    (
        "Sarah O'Connor",
        "sarah.oconnor@contoso.test",
        "Sales Director",
    ),
    (
        "Ahmed Khalil",
        "ahmed.khalil@litware.test",
        "IT Administrator",
    ),
    ("Lena Nowak", "lena.nowak@tailspin.test", "Customer Success"),
    ("Tomás Ferreira", "tomas.ferreira@adatum.test", "CFO"),
    ("Grace Liu", "grace.liu@contoso.test", "Recruiter"),
    ("Noah Becker", "noah.becker@northwind.test", "Logistics"),
    (
        "Aisha Bello",
        "aisha.bello@litware.test",
        "Engineering Manager",
    ),
];

const SUBJECTS: &[&str] = &[
    "Q3 forecast review",
    "Invoice {n} from Fabrikam",
    "Contract renewal – Northwind Traders",
    "Meeting notes: pipeline sync",
    "Shipment {n} delayed",
    "Pricing for the Contoso rollout",
    "Support case #{n}: login failures after the update",
    "Offsite agenda & travel",
    "Updated SOW (v{n})",
    "Quarterly business review – slides",
    "Purchase order {n} approved",
    "Candidate feedback: senior engineer",
    "Action items from today's call",
    "Renewal quote for 250 seats",
    "Security advisory: password reset required",
    "Données de facturation – mars",
];

const SENTENCES: &[&str] = &[
    "Thanks for the quick turnaround on this.",
    "I have attached the latest version with the changes we discussed on Tuesday.",
    "Could you confirm the delivery date before Friday so we can plan the installation?",
    "The numbers for Q3 are slightly below the forecast, mainly because of the delayed EMEA deals.",
    "Legal has reviewed clauses 4.2 and 7.1 & asked for two small edits (see the redline).",
    "Please note that prices < 10,000 EUR do not need a second approval.",
    "We agreed to move the go-live to the first week of next month.",
    "Let me know if anything is unclear; happy to jump on a call.",
    "Our team in München will take over the rollout from there.",
    "The root cause was an expired certificate on the load balancer, which has since been replaced.",
    "I've looped in Priya, who owns the integration on our side.",
    "Attached you'll find the invoice as well as the delivery note.",
    "Could we get 30 minutes on the calendar this week to walk through the proposal?",
    "As a reminder, the offsite starts at 9:00 on Monday — breakfast is provided.",
    "We still need the signed purchase order before we can ship.",
    "The customer asked whether the discount also applies to the renewal.",
    "Per our conversation, I have updated the statement of work (sections 2–5).",
    "Kind regards from the whole team in São Paulo.",
    "If you no longer wish to receive these updates, reply with \"unsubscribe\".",
    "Feedback so far is positive: strong system design, some gaps in testing.",
];

/// Escapes text for an HTML body (the simulator then escapes the whole body for XML).
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct Draft {
    paragraphs: Vec<String>,
    signature: [String; 3],
}

impl Draft {
    fn new(rng: &mut Rng, greeting_name: &str, sender: (&str, &str, &str)) -> Draft {
        let first = greeting_name.split(' ').next().unwrap_or(greeting_name);
        let mut paragraphs = vec![format!("Hi {first},")];
        for _ in 0..rng.between(3, 9) {
            let sentences: Vec<&str> = (0..rng.between(3, 6))
                .map(|_| *rng.pick(SENTENCES))
                .collect();
            paragraphs.push(sentences.join(" "));
        }
        paragraphs.push("Best regards,".to_owned());
        let company = sender.1.split('@').nth(1).unwrap_or("example.test");
        Draft {
            paragraphs,
            signature: [
                sender.0.to_owned(),
                format!("{} | {company}", sender.2),
                format!("+1 (425) 555-{:04} | {}", rng.between(100, 9999), sender.1),
            ],
        }
    }

    fn text(&self, quoted: Option<&str>) -> String {
        let mut out = self.paragraphs.join("\r\n\r\n");
        out.push_str("\r\n");
        out.push_str(&self.signature.join("\r\n"));
        if let Some(q) = quoted {
            out.push_str("\r\n\r\n-----Original Message-----\r\n");
            for line in q.lines() {
                out.push_str("> ");
                out.push_str(line);
                out.push_str("\r\n");
            }
        }
        out
    }

    fn html(&self, quoted: Option<&str>, inline_image: Option<&str>) -> String {
        let mut out = String::from(
            r##"<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style><!-- p.MsoNormal, li.MsoNormal { margin:0cm; font-size:11.0pt; font-family:"Calibri",sans-serif; } --></style></head><body lang="EN-US" link="#0563C1" vlink="#954F72"><div class="WordSection1">"##,
        );
        for p in &self.paragraphs {
            out.push_str(r#"<p class="MsoNormal">"#);
            out.push_str(&html_escape(p));
            out.push_str(r#"<o:p>&nbsp;</o:p></p>"#);
        }
        out.push_str(r#"<table border="0" cellspacing="0" cellpadding="0"><tr><td style="padding:0cm 5.4pt 0cm 0cm">"#);
        if let Some(cid) = inline_image {
            out.push_str(&format!(
                r#"<img width="96" height="32" id="Picture_x0020_1" src="cid:{cid}" alt="logo">"#
            ));
        }
        out.push_str(r#"</td><td><p class="MsoNormal"><b><span style="color:#1F3864">"#);
        out.push_str(&html_escape(&self.signature[0]));
        out.push_str("</span></b><br>");
        out.push_str(&html_escape(&self.signature[1]));
        out.push_str("<br>");
        out.push_str(&html_escape(&self.signature[2]));
        out.push_str("</p></td></tr></table>");
        if let Some(q) = quoted {
            out.push_str(r#"<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal"><b>From:</b> earlier message</p></div><blockquote style="margin-left:4.8pt">"#);
            for line in q.lines().filter(|l| !l.is_empty()) {
                out.push_str(r#"<p class="MsoNormal">"#);
                out.push_str(&html_escape(line));
                out.push_str("</p>");
            }
            out.push_str("</blockquote>");
        }
        out.push_str("</div></body></html>");
        out
    }
}

/// What a thread's earlier message left for replies to refer to.
struct Sent {
    subject: String,
    message_id: String,
    references: String,
    text: String,
}

fn attachment(rng: &mut Rng, n: usize) -> NewAttachment {
    let (name, content_type) = match rng.between(0, 4) {
        0 => (format!("invoice-{n}.pdf"), "application/pdf"),
        1 => (
            "Q3-forecast.xlsx".to_owned(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        2 => (
            format!("SOW-v{}.docx", n % 7 + 1),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        3 => ("screenshot.png".to_owned(), "image/png"),
        _ => ("meeting.ics".to_owned(), "text/calendar"),
    };
    let size = rng.between(2_000, 24_000);
    NewAttachment {
        name,
        content_type: content_type.to_owned(),
        content_id: None,
        is_inline: false,
        content: (0..size).map(|i| (i % 251) as u8).collect(),
    }
}

/// Message `n` of the mailbox; about a third are replies in an earlier thread.
fn message(
    rng: &mut Rng,
    n: usize,
    threads: &mut Vec<Sent>,
    start: OffsetDateTime,
) -> IncomingMessage {
    let sender = *rng.pick(PEOPLE);
    let from = EmailAddress::named(sender.0, sender.1);
    let mut to = vec![EmailAddress::named(MAILBOX_NAME, MAILBOX)];
    for _ in 0..rng.between(0, 3) {
        let p = rng.pick(PEOPLE);
        to.push(EmailAddress::named(p.0, p.1));
    }
    let cc: Vec<EmailAddress> = (0..rng.between(0, 3))
        .map(|_| {
            let p = rng.pick(PEOPLE);
            EmailAddress::named(p.0, p.1)
        })
        .collect();
    let domain = sender.1.split('@').nth(1).unwrap_or("example.test");
    let message_id = format!("<{:016X}.{n}@mail.{domain}>", rng.next());
    let earlier = if !threads.is_empty() && rng.chance(35) {
        let i = rng.between(0, threads.len() - 1);
        threads.get(i)
    } else {
        None
    };
    let subject = match earlier {
        Some(e) if e.subject.starts_with("RE: ") => e.subject.clone(),
        Some(e) => format!("RE: {}", e.subject),
        None => rng.pick(SUBJECTS).replace("{n}", &(1000 + n).to_string()),
    };
    let quoted = earlier.map(|e| e.text.chars().take(900).collect::<String>());
    let draft = Draft::new(rng, MAILBOX_NAME, sender);
    let mut attachments: Vec<NewAttachment> = Vec::new();
    if rng.chance(30) {
        for _ in 0..rng.between(1, 2) {
            attachments.push(attachment(rng, n));
        }
    }
    let inline = rng
        .chance(40)
        .then(|| format!("image001.png@01DA{:08X}", rng.next() as u32));
    if let Some(cid) = &inline {
        attachments.push(NewAttachment {
            name: "image001.png".to_owned(),
            content_type: "image/png".to_owned(),
            content_id: Some(cid.clone()),
            is_inline: true,
            content: vec![0x89; rng.between(1_500, 6_000)],
        });
    }
    let text = draft.text(quoted.as_deref());
    let html = draft.html(quoted.as_deref(), inline.as_deref());
    let (in_reply_to, references) = match earlier {
        Some(e) => (
            Some(e.message_id.clone()),
            Some(
                format!("{} {}", e.references, e.message_id)
                    .trim()
                    .to_owned(),
            ),
        ),
        None => (None, None),
    };
    let minutes = i64::try_from(n * 37 + rng.between(0, 30)).unwrap_or(0);
    let sent = Sent {
        subject: subject.clone(),
        message_id: message_id.clone(),
        references: references.clone().unwrap_or_default(),
        text: text.clone(),
    };
    threads.push(sent);
    IncomingMessage {
        from,
        to,
        cc,
        subject,
        body_text: Some(text),
        body_html: Some(html),
        message_id: Some(message_id),
        in_reply_to,
        references,
        received: Some(start + time::Duration::minutes(minutes)),
        attachments,
        extended_properties: Vec::new(),
    }
}

// ----- the documents -----------------------------------------------------------------------

/// A response document and the request it answers.
struct Document<Op> {
    name: &'static str,
    op: Op,
    bytes: Vec<u8>,
}

struct Documents {
    sync: Document<SyncFolderItems>,
    get: Document<GetItem>,
}

const CHANGES: usize = 512;
const ITEMS: usize = 100;

fn config() -> Result<SimConfig, String> {
    SimConfig::from_json(&format!(
        r#"{{
        "domains": ["contoso.test"],
        "accounts": [{{"user": "{SERVICE_ACCOUNT}", "password": "x"}}],
        "mailboxes": [{{"smtp": "{MAILBOX}", "display_name": "{MAILBOX_NAME}"}}],
        "impersonation": [{{"account": "{SERVICE_ACCOUNT}", "scope": {{"mailboxes": ["{MAILBOX}"]}}}}],
        "server": {{"version": "2010sp3", "validate_requests": true}}
    }}"#
    ))
    .map_err(|e| format!("simulator configuration: {e}"))
}

/// Sends `request` to the simulator as the service account impersonating the mailbox.
fn call(exchange: &Exchange, directory: &Directory, request: &str) -> Result<Vec<u8>, String> {
    let logon = directory
        .account(SERVICE_ACCOUNT)
        .ok_or("the service account is not in the directory")?;
    let reply = exchange.handle(
        &EwsCall {
            logon,
            directory,
            anchor_mailbox: Some(MAILBOX),
        },
        request.as_bytes(),
    );
    let invalid = exchange.invalid_responses();
    if !invalid.is_empty() {
        return Err(format!(
            "the simulator's answer does not validate against the EWS schema: {invalid:?}"
        ));
    }
    if reply.status != 200 {
        return Err(format!(
            "the simulator answered HTTP {} with {:?}",
            reply.status, reply.response_codes
        ));
    }
    Ok(reply.body.into_bytes())
}

/// Fills a mailbox with varied mail, then asks the simulator the two questions exsync asks.
fn build_documents() -> Result<Documents, String> {
    let cfg = config()?;
    let exchange = Exchange::new(
        &cfg,
        ExchangeOptions {
            validate_requests: true,
            validate_responses: true,
            server_version: cfg.server.version,
            schema_dir: ExchangeOptions::default_schema_dir(),
        },
    )
    .map_err(|e| e.to_string())?;
    let directory = Directory::from_config(&cfg);
    let mut rng = Rng(0x6578_7379_6e63);
    let start = OffsetDateTime::from_unix_timestamp(1_714_550_400).map_err(|e| e.to_string())?;
    let mut threads = Vec::new();
    for n in 0..CHANGES {
        let msg = message(&mut rng, n, &mut threads, start);
        exchange
            .deliver(MAILBOX, msg)
            .map_err(|e| format!("delivering message {n}: {e}"))?;
    }

    let sync_op = SyncFolderItems {
        shape: ItemShape::id_only(),
        folder_id: DistinguishedFolderName::Inbox.into(),
        sync_state: None,
        ignore: Vec::new(),
        max_changes_returned: MaxChangesReturned::MAX,
        sync_scope: None,
    };
    let sync_bytes = call(
        &exchange,
        &directory,
        &write_request(&sync_op, Some(MAILBOX)),
    )?;
    let sync = read_response_for(&sync_op, &sync_bytes, Limits::default())
        .map_err(|e| format!("exsync cannot read the SyncFolderItems answer: {e}"))?;
    let ids: Vec<ItemId> = sync
        .body
        .changes
        .iter()
        .filter_map(|c| match c {
            SyncChange::Create(item) => item.item_id().cloned(),
            _ => None,
        })
        .collect();
    if ids.len() != CHANGES {
        return Err(format!(
            "expected {CHANGES} created items, the answer has {}",
            ids.len()
        ));
    }

    let get_op = GetItem {
        shape: ItemShape::new(BaseShape::AllProperties).with_properties([
            FieldUri::ITEM_INTERNET_MESSAGE_HEADERS.into(),
            FieldUri::MESSAGE_INTERNET_MESSAGE_ID.into(),
            FieldUri::MESSAGE_REFERENCES.into(),
        ]),
        item_ids: ids.into_iter().take(ITEMS).collect(),
    };
    let get_bytes = call(
        &exchange,
        &directory,
        &write_request(&get_op, Some(MAILBOX)),
    )?;
    let got = read_response_for(&get_op, &get_bytes, Limits::default())
        .map_err(|e| format!("exsync cannot read the GetItem answer: {e}"))?;
    let complete = got.body.iter().all(|r| match r {
        Ok(Item::Message(m)) => {
            m.body.is_some()
                && !m.internet_message_headers.is_empty()
                && !m.to_recipients.is_empty()
        }
        _ => false,
    });
    if !complete {
        return Err("some GetItem results are errors or lack body, headers or recipients".into());
    }

    Ok(Documents {
        sync: Document {
            name: "syncfolderitems-512",
            op: sync_op,
            bytes: sync_bytes,
        },
        get: Document {
            name: "getitem-100",
            op: get_op,
            bytes: get_bytes,
        },
    })
}

/// `$CARGO_TARGET_DIR`, else the target directory this benchmark was built into
/// (`<target>/release/deps/parse-…`).
fn target_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    exe.ancestors()
        .nth(3)
        .map(PathBuf::from)
        .ok_or_else(|| format!("cannot find the target directory above {}", exe.display()))
}

fn write_outputs(docs: &Documents, memory: &serde_json::Value) -> Result<PathBuf, String> {
    let dir = target_dir()?.join("bench-data");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let json = serde_json::to_vec_pretty(memory).map_err(|e| e.to_string())?;
    for (file, bytes) in [
        (
            format!("{}.xml", docs.sync.name),
            docs.sync.bytes.as_slice(),
        ),
        (format!("{}.xml", docs.get.name), docs.get.bytes.as_slice()),
        ("exsync-memory.json".to_owned(), json.as_slice()),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(dir)
}

fn report_memory(name: &str, m: &MemoryUse) {
    println!(
        "memory {name}: document {} bytes, peak {} bytes above the start, {} bytes retained by the result, {} allocations",
        m.document_bytes, m.peak_bytes, m.retained_bytes, m.allocations
    );
}

fn main() {
    let docs = match build_documents() {
        Ok(docs) => docs,
        Err(e) => {
            eprintln!("cannot build the benchmark documents: {e}");
            std::process::exit(1);
        }
    };

    // Parse once before counting, so one-time set-up (tracing call sites) is not counted.
    let parse_sync = || {
        read_response_for(
            &docs.sync.op,
            black_box(&docs.sync.bytes),
            Limits::default(),
        )
    };
    let parse_get =
        || read_response_for(&docs.get.op, black_box(&docs.get.bytes), Limits::default());
    drop((parse_sync(), parse_get()));
    let sync_memory = measure_memory(docs.sync.bytes.len(), parse_sync);
    let get_memory = measure_memory(docs.get.bytes.len(), parse_get);
    report_memory(docs.sync.name, &sync_memory);
    report_memory(docs.get.name, &get_memory);
    let memory = serde_json::json!({
        docs.sync.name: sync_memory,
        docs.get.name: get_memory,
    });
    match write_outputs(&docs, &memory) {
        Ok(dir) => println!("documents written to {}", dir.display()),
        Err(e) => {
            eprintln!("cannot write the benchmark documents: {e}");
            std::process::exit(1);
        }
    }

    // Short runs: this is a 2-core machine shared with builds. Command-line options
    // (`--measurement-time`, `--sample-size`) still override these.
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(30)
        .configure_from_args();
    let mut group = criterion.benchmark_group("parse");
    group.throughput(Throughput::BytesDecimal(docs.sync.bytes.len() as u64));
    group.bench_function(docs.sync.name, |b| b.iter(|| black_box(parse_sync())));
    group.throughput(Throughput::BytesDecimal(docs.get.bytes.len() as u64));
    group.bench_function(docs.get.name, |b| b.iter(|| black_box(parse_get())));
    group.finish();
    criterion.final_summary();
}
