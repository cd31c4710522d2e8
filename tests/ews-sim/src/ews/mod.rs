//! The EWS endpoint: parses a SOAP request, validates it against the schema, checks
//! impersonation, runs the operation on the mailbox store, and writes a response that
//! validates against the schema.
//!
//! CONTRACT (used by the HTTP layer in `server.rs`; keep these signatures):
//! - [`Exchange::new`], [`Exchange::handle`], [`operation_name`], [`soap_fault`],
//!   [`Exchange::check_response`].
//!
//! Impersonation failures are SOAP faults (HTTP 500), not per-message errors: a capture of
//! a real server's `ErrorImpersonateUserDenied` answer (OfficeDev/ews-managed-api issue 223)
//! is a `s:Fault` with `faultcode a:ErrorImpersonateUserDenied`, and the whole request fails
//! because the header, not any one item, is at fault. `ErrorNonExistentMailbox` for an
//! impersonated address that is not in the directory is a fault for the same reason. A
//! mailbox named inside the body (`t:DistinguishedFolderId/t:Mailbox`) fails only its own
//! response message: `ErrorNonExistentMailbox`, or `ErrorAccessDenied` when the logon account
//! neither owns it nor holds ApplicationImpersonation for it.

mod codes;
mod control;
mod fields;
mod itemparse;
mod ops;
mod render;
mod restriction;
mod xml;

pub use codes::ResponseCode;
pub use control::{
    ContactSummary, IncomingMessage, ItemSummary, ItemUpdate, NewCalendarItem, NewContact, NewTask,
};
pub use xml::{NS_E, NS_M, NS_SOAP, NS_T};

use crate::config::{MailboxConfig, ServerVersion, SimConfig};
use crate::directory::{Account, Directory};
use crate::schema::{SchemaValidator, truncate};
use crate::store::{
    Body, ChangeKey, ChangeKind, DistinguishedFolder, EmailAddress, FolderId, FolderKind, Item,
    ItemId, ItemKind, Store, StoreError, mime, upsert_property,
};
use ops::{Ctx, Out};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How the EWS endpoint behaves.
#[derive(Debug, Clone)]
pub struct ExchangeOptions {
    /// Reject requests that do not validate against the schema (`ErrorSchemaValidation`).
    pub validate_requests: bool,
    /// Validate every response before sending it and record the ones that fail
    /// (tests assert there are none).
    pub validate_responses: bool,
    /// The emulated server version (ServerVersionInfo).
    pub server_version: ServerVersion,
    /// Directory holding `soap-envelope.xsd` and the EWS schema files.
    pub schema_dir: PathBuf,
}

impl ExchangeOptions {
    /// Where the EWS schema lives: `$EXSYNC_EWS_SCHEMA_DIR`, else `shared/ews-schema` beside
    /// the repository checkout (`<repo>/../shared/ews-schema`).
    pub fn default_schema_dir() -> PathBuf {
        match std::env::var_os("EXSYNC_EWS_SCHEMA_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ews-schema"),
        }
    }

    /// The options a configuration asks for: its server version and request validation,
    /// response validation on, the default schema directory.
    pub fn from_config(cfg: &SimConfig) -> Self {
        Self {
            validate_requests: cfg.server.validate_requests,
            validate_responses: true,
            server_version: cfg.server.version,
            schema_dir: Self::default_schema_dir(),
        }
    }
}

/// One authenticated EWS request.
#[derive(Debug)]
pub struct EwsCall<'a> {
    /// The account that authenticated on this connection.
    pub logon: &'a Account,
    /// The directory as it is now (grants can change at run time).
    pub directory: &'a Directory,
    /// The `X-AnchorMailbox` header, if sent.
    pub anchor_mailbox: Option<&'a str>,
}

/// The answer to one EWS request.
#[derive(Debug, Clone)]
pub struct EwsReply {
    /// HTTP status (200, or 500 for SOAP faults).
    pub status: u16,
    /// The SOAP response document.
    pub body: String,
    /// The operation's name, when the request named one.
    pub operation: Option<String>,
    /// Every ResponseCode in the answer (per message, or the fault's).
    pub response_codes: Vec<String>,
}

/// The EWS endpoint and the mailbox store behind it.
#[derive(Debug)]
pub struct Exchange {
    opts: ExchangeOptions,
    validator: Option<SchemaValidator>,
    store: Mutex<Store>,
    invalid: Mutex<Vec<String>>,
    versions: Mutex<Vec<String>>,
}

/// Why the EWS endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The schema could not be loaded.
    #[error("cannot load the EWS schema from {path}: {message}")]
    Schema {
        /// Where it was looked for.
        path: String,
        /// What libxml2 said.
        message: String,
    },
    /// A seed message in the configuration cannot be used.
    #[error("cannot seed mailbox {mailbox}: {message}")]
    Seed {
        /// The mailbox.
        mailbox: String,
        /// What is wrong.
        message: String,
    },
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic inside an operation is caught and answered; the store is still consistent
    // enough for a simulator, so a poisoned lock is taken over rather than propagated.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A fault to answer with (HTTP 500).
struct Fault {
    code: &'static str,
    message: String,
    /// `(line, column, violation)` for ErrorSchemaValidation's MessageXml.
    schema: Option<(u32, u32, String)>,
}

impl Fault {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            schema: None,
        }
    }

    /// ErrorSchemaValidation for a libxml2 diagnostic (`line N: message`).
    fn schema(violation: &str) -> Self {
        let line = violation
            .trim()
            .strip_prefix("line ")
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(1);
        Self::schema_at(violation, line, 1)
    }

    /// ErrorSchemaValidation at a known position.
    fn schema_at(violation: &str, line: u32, column: u32) -> Self {
        let violation = truncate(violation.trim());
        Self {
            code: "ErrorSchemaValidation",
            message: format!("The request failed schema validation: {violation}"),
            schema: Some((line, column, violation)),
        }
    }

    fn render(&self) -> String {
        let mut detail = xml::XmlWriter::new();
        if let Some((line, column, violation)) = &self.schema {
            detail.start("t:MessageXml", &[("xmlns:t", NS_T)]);
            detail.leaf_num("t:LineNumber", line);
            detail.leaf_num("t:LinePosition", column);
            detail.leaf("t:Violation", violation);
            detail.end("t:MessageXml");
        }
        let short = if self.schema.is_some() {
            "The request failed schema validation."
        } else {
            self.message.as_str()
        };
        fault_document(self.code, &self.message, short, &detail.into_string())
    }
}

fn fault_document(code: &str, faultstring: &str, message: &str, message_xml: &str) -> String {
    let mut w = xml::XmlWriter::new();
    w.raw(r#"<?xml version="1.0" encoding="utf-8"?>"#);
    w.start("s:Envelope", &[("xmlns:s", NS_SOAP)]);
    w.start("s:Body", &[]);
    w.start("s:Fault", &[]);
    w.leaf_attrs("faultcode", &[("xmlns:a", NS_T)], &format!("a:{code}"));
    w.leaf_attrs("faultstring", &[("xml:lang", "en-US")], faultstring);
    w.start("detail", &[]);
    w.leaf_attrs("e:ResponseCode", &[("xmlns:e", NS_E)], code);
    w.leaf_attrs("e:Message", &[("xmlns:e", NS_E)], message);
    w.raw(message_xml);
    w.end("detail");
    w.end("s:Fault");
    w.end("s:Body");
    w.end("s:Envelope");
    w.into_string()
}

/// Which operations the simulator implements.
const OPERATIONS: &[&str] = &[
    "GetFolder",
    "FindFolder",
    "CreateFolder",
    "SyncFolderItems",
    "GetItem",
    "FindItem",
    "CreateItem",
    "UpdateItem",
    "DeleteItem",
    "MoveItem",
    "CopyItem",
    "SendItem",
    "GetAttachment",
    "CreateAttachment",
    "DeleteAttachment",
    "ResolveNames",
];

impl Exchange {
    /// Builds the endpoint with the mailboxes and seed messages of `cfg`.
    pub fn new(cfg: &SimConfig, opts: ExchangeOptions) -> Result<Self, ExchangeError> {
        let validator = if opts.validate_requests || opts.validate_responses {
            Some(
                SchemaValidator::load(&opts.schema_dir).map_err(|e| ExchangeError::Schema {
                    path: opts.schema_dir.display().to_string(),
                    message: e.to_string(),
                })?,
            )
        } else {
            None
        };
        let exchange = Exchange {
            opts,
            validator,
            store: Mutex::new(Store::new()),
            invalid: Mutex::new(Vec::new()),
            versions: Mutex::new(Vec::new()),
        };
        for m in &cfg.mailboxes {
            exchange.ensure_mailbox(&m.smtp, &m.display_name);
            for seed in &m.seed_messages {
                let seed_error = |message: String| ExchangeError::Seed {
                    mailbox: m.smtp.clone(),
                    message,
                };
                let received = match &seed.received {
                    Some(raw) => Some(
                        OffsetDateTime::parse(raw, &Rfc3339)
                            .map_err(|e| seed_error(format!("received {raw:?}: {e}")))?,
                    ),
                    None => None,
                };
                let from = EmailAddress {
                    name: seed.from_name.clone(),
                    address: seed.from.clone(),
                };
                exchange
                    .deliver(
                        &m.smtp,
                        IncomingMessage {
                            from,
                            to: vec![EmailAddress::named(m.display_name.clone(), m.smtp.clone())],
                            subject: seed.subject.clone(),
                            body_text: Some(seed.body.clone()),
                            message_id: seed.internet_message_id.clone(),
                            in_reply_to: seed.in_reply_to.clone(),
                            received,
                            ..IncomingMessage::default()
                        },
                    )
                    .map_err(|e| seed_error(e.to_string()))?;
            }
            exchange
                .seed_user_items(m)
                .map_err(|e| ExchangeError::Seed {
                    mailbox: m.smtp.clone(),
                    message: e.to_string(),
                })?;
        }
        Ok(exchange)
    }

    /// Places a mailbox's seed contacts, appointments and tasks, as its user would have.
    fn seed_user_items(&self, m: &MailboxConfig) -> Result<(), StoreError> {
        for c in &m.seed_contacts {
            self.create_contact(
                &m.smtp,
                NewContact {
                    display_name: c.display_name.clone().unwrap_or_default(),
                    given_name: c.given_name.clone(),
                    surname: c.surname.clone(),
                    company_name: c.company.clone(),
                    email: c.email.clone(),
                    business_phone: c.business_phone.clone(),
                    extended_properties: Vec::new(),
                    categories: Vec::new(),
                },
            )?;
        }
        for c in &m.seed_calendar_items {
            self.create_calendar_item(
                &m.smtp,
                NewCalendarItem {
                    subject: c.subject.clone(),
                    body_text: c.body.clone(),
                    start: Some(c.start),
                    end: Some(c.end),
                    location: c.location.clone(),
                    attendees: c
                        .attendees
                        .iter()
                        .map(|a| EmailAddress {
                            name: a.name.clone(),
                            address: a.address.clone(),
                        })
                        .collect(),
                    optional_attendees: Vec::new(),
                    is_all_day: c.is_all_day,
                    extended_properties: Vec::new(),
                    categories: Vec::new(),
                },
            )?;
        }
        for t in &m.seed_tasks {
            self.create_task(
                &m.smtp,
                NewTask {
                    subject: t.subject.clone(),
                    body_text: t.body.clone(),
                    start: t.start,
                    due: t.due,
                    status: t.status.clone(),
                    extended_properties: Vec::new(),
                    categories: Vec::new(),
                },
            )?;
        }
        Ok(())
    }

    /// The options this endpoint runs with.
    pub fn options(&self) -> &ExchangeOptions {
        &self.opts
    }

    /// Answers one SOAP request.
    pub fn handle(&self, call: &EwsCall<'_>, body: &[u8]) -> EwsReply {
        let operation = operation_name(body);
        let reply = match catch_unwind(AssertUnwindSafe(|| self.answer(call, body))) {
            Ok(Ok((body, codes))) => EwsReply {
                status: 200,
                body,
                operation: operation.clone(),
                response_codes: codes,
            },
            Ok(Err(fault)) => EwsReply {
                status: 500,
                body: fault.render(),
                operation: operation.clone(),
                response_codes: vec![fault.code.to_owned()],
            },
            Err(_) => {
                tracing::error!(operation = operation.as_deref(), "EWS operation panicked");
                let fault = Fault::new(
                    "ErrorInternalServerError",
                    "An internal server error occurred. The operation failed.",
                );
                EwsReply {
                    status: 500,
                    body: fault.render(),
                    operation: operation.clone(),
                    response_codes: vec![fault.code.to_owned()],
                }
            }
        };
        tracing::debug!(
            operation = reply.operation.as_deref(),
            logon = %call.logon.user,
            anchor = call.anchor_mailbox,
            status = reply.status,
            codes = ?reply.response_codes,
            "EWS request answered"
        );
        self.record_if_invalid(reply.operation.as_deref(), &reply.body);
        reply
    }

    /// Validates a response produced elsewhere (an injected fault) and records it if invalid.
    pub fn check_response(&self, body: &str) {
        self.record_if_invalid(operation_name(body.as_bytes()).as_deref(), body);
    }

    fn record_if_invalid(&self, operation: Option<&str>, body: &str) {
        if !self.opts.validate_responses {
            return;
        }
        let Some(v) = &self.validator else {
            return;
        };
        if let Err(errors) = v.validate(body.as_bytes()) {
            let entry = format!("{}: {}", operation.unwrap_or("?"), errors.join(" | "));
            tracing::warn!(operation, errors = %entry, "response does not validate against the EWS schema");
            lock(&self.invalid).push(entry);
        }
    }

    /// Every response so far that did not validate against the schema, with libxml2's
    /// diagnostics (empty when all were valid).
    pub fn invalid_responses(&self) -> Vec<String> {
        lock(&self.invalid).clone()
    }

    /// The distinct `t:RequestServerVersion/@Version` values requests carried, in order of
    /// first appearance.
    pub fn request_server_versions(&self) -> Vec<String> {
        lock(&self.versions).clone()
    }

    fn envelope(&self, body: &str) -> String {
        let (major, minor, build, minor_build, version) =
            self.opts.server_version.server_version_info();
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{NS_SOAP}"><s:Header><h:ServerVersionInfo MajorVersion="{major}" MinorVersion="{minor}" MajorBuildNumber="{build}" MinorBuildNumber="{minor_build}" Version="{version}" xmlns:h="{NS_T}" xmlns="{NS_T}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/></s:Header><s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">{body}</s:Body></s:Envelope>"#
        )
    }

    fn answer(&self, call: &EwsCall<'_>, body: &[u8]) -> Result<(String, Vec<String>), Fault> {
        let text = std::str::from_utf8(body)
            .map_err(|_| Fault::schema("the request is not valid UTF-8"))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // roxmltree refuses DTDs, so no entity tricks reach the operations.
        let doc = roxmltree::Document::parse(text).map_err(|e| {
            let pos = e.pos();
            Fault::schema_at(&e.to_string(), pos.row, pos.col)
        })?;
        let validator = self
            .validator
            .as_ref()
            .filter(|_| self.opts.validate_requests);
        if let Some(Err(errors)) = validator.map(|v| v.validate(text.as_bytes())) {
            let first = errors.first().cloned().unwrap_or_default();
            return Err(Fault::schema(&first));
        }
        let root = doc.root_element();
        let invalid = || Fault::new("ErrorInvalidRequest", "The request is invalid.");
        if !xml::is(root, NS_SOAP, "Envelope") {
            return Err(invalid());
        }
        let header = xml::child(root, NS_SOAP, "Header");
        let op = xml::child(root, NS_SOAP, "Body")
            .and_then(|b| xml::elements(b).next())
            .ok_or_else(invalid)?;
        if let Some(version) = header
            .and_then(|h| xml::child(h, NS_T, "RequestServerVersion"))
            .and_then(|v| v.attribute("Version"))
        {
            let mut seen = lock(&self.versions);
            if !seen.iter().any(|s| s == version) {
                seen.push(version.to_owned());
            }
        }
        let acting = acting_mailbox(call, header)?;
        let name = op.tag_name().name();
        if op.tag_name().namespace() != Some(NS_M) || !OPERATIONS.contains(&name) {
            return Err(invalid());
        }
        let ctx = Ctx {
            logon: call.logon,
            directory: call.directory,
            acting,
            now: OffsetDateTime::now_utc(),
        };
        let mut out = Out::default();
        {
            let mut store = lock(&self.store);
            if let Some(entry) = ctx
                .acting
                .as_deref()
                .and_then(|a| call.directory.mailbox(a))
            {
                store.ensure_mailbox(&entry.smtp, &entry.display_name);
            }
            let store = &mut *store;
            match name {
                "GetFolder" => ops::folders::get_folder(store, &ctx, op, &mut out),
                "FindFolder" => ops::folders::find_folder(store, &ctx, op, &mut out),
                "CreateFolder" => ops::folders::create_folder(store, &ctx, op, &mut out),
                "SyncFolderItems" => ops::sync::sync_folder_items(store, &ctx, op, &mut out),
                "GetItem" => ops::items::get_item(store, &ctx, op, &mut out),
                "FindItem" => ops::find::find_item(store, &ctx, op, &mut out),
                "CreateItem" => ops::items::create_item(store, &ctx, op, &mut out),
                "UpdateItem" => ops::items::update_item(store, &ctx, op, &mut out),
                "DeleteItem" => ops::items::delete_item(store, &ctx, op, &mut out),
                "MoveItem" => ops::items::move_or_copy(store, &ctx, op, &mut out, false),
                "CopyItem" => ops::items::move_or_copy(store, &ctx, op, &mut out, true),
                "SendItem" => ops::items::send_item(store, &ctx, op, &mut out),
                "GetAttachment" => ops::items::get_attachment(store, &ctx, op, &mut out),
                "CreateAttachment" => ops::items::create_attachment(store, &ctx, op, &mut out),
                "DeleteAttachment" => ops::items::delete_attachment(store, &ctx, op, &mut out),
                "ResolveNames" => ops::names::resolve_names(&ctx, op, &mut out),
                _ => return Err(invalid()),
            }
        }
        let Out { w, codes } = out;
        if codes.is_empty() {
            // Only reachable with request validation off: an operation naming nothing to
            // act on. The schema demands at least one response message, so refuse it whole.
            return Err(invalid());
        }
        Ok((self.envelope(&w.into_string()), codes))
    }

    // ----- control methods (tests and the demo, through the simulator handle) -----

    /// Creates a mailbox (with its distinguished folders) if the store lacks it; mailboxes
    /// added to the directory at run time appear on their first request anyway.
    pub fn ensure_mailbox(&self, smtp: &str, display_name: &str) {
        lock(&self.store).ensure_mailbox(smtp, display_name);
    }

    /// Delivers a message into `to_smtp`'s Inbox, as if it had arrived by SMTP; returns its id.
    pub fn deliver(&self, to_smtp: &str, msg: IncomingMessage) -> Result<ItemId, StoreError> {
        let received = msg.received.unwrap_or_else(OffsetDateTime::now_utc);
        let mut item = Item::new(ItemKind::Message, received);
        item.to = if msg.to.is_empty() {
            vec![EmailAddress::new(to_smtp)]
        } else {
            msg.to
        };
        item.cc = msg.cc;
        item.subject = Some(msg.subject);
        item.body = Body {
            text: msg.body_text,
            html: msg.body_html,
        };
        item.internet_message_id = Some(
            msg.message_id
                .unwrap_or_else(|| mime::new_message_id(&msg.from.address)),
        );
        item.references = msg.references.or_else(|| msg.in_reply_to.clone());
        item.in_reply_to = msg.in_reply_to;
        item.sender = Some(msg.from.clone());
        item.from = Some(msg.from);
        item.sent = Some(received);
        item.attachments = msg
            .attachments
            .into_iter()
            .map(|a| itemparse::attachment_from(a, received))
            .collect();
        for p in msg.extended_properties {
            upsert_property(&mut item.extended, p);
        }
        lock(&self.store).deliver_copy(to_smtp, &item, received)
    }

    /// Makes every SyncFolderItems state issued so far for `mailbox` invalid
    /// (`ErrorInvalidSyncStateData` on next use), as after a mailbox move.
    pub fn invalidate_sync_states(&self, mailbox: &str) -> Result<(), StoreError> {
        lock(&self.store).invalidate_sync_states(mailbox)
    }

    fn folder_of(
        store: &Store,
        mailbox: &str,
        folder: DistinguishedFolder,
    ) -> Result<FolderId, StoreError> {
        store
            .mailbox(mailbox)
            .ok_or_else(|| StoreError::NoSuchMailbox(mailbox.to_owned()))?
            .folder_id(folder)
            .cloned()
            .ok_or_else(|| StoreError::NoSuchFolder(folder.id().to_owned()))
    }

    /// Summaries of the items in a distinguished folder, newest first.
    pub fn items(
        &self,
        mailbox: &str,
        folder: DistinguishedFolder,
    ) -> Result<Vec<ItemSummary>, StoreError> {
        let store = lock(&self.store);
        let folder_id = Self::folder_of(&store, mailbox, folder)?;
        let mbx = store
            .mailbox(mailbox)
            .ok_or_else(|| StoreError::NoSuchMailbox(mailbox.to_owned()))?;
        Ok(mbx.items_in(&folder_id).into_iter().map(summary).collect())
    }

    /// How many items a distinguished folder holds.
    pub fn item_count(
        &self,
        mailbox: &str,
        folder: DistinguishedFolder,
    ) -> Result<usize, StoreError> {
        let store = lock(&self.store);
        let folder_id = Self::folder_of(&store, mailbox, folder)?;
        Ok(store
            .mailbox(mailbox)
            .map_or(0, |m| m.total_count(&folder_id)))
    }

    /// Creates a folder under a distinguished folder (as a user would in Outlook).
    pub fn create_folder(
        &self,
        mailbox: &str,
        parent: DistinguishedFolder,
        name: &str,
    ) -> Result<FolderId, StoreError> {
        let mut store = lock(&self.store);
        let parent_id = Self::folder_of(&store, mailbox, parent)?;
        let kind = store
            .mailbox(mailbox)
            .and_then(|m| m.folders.get(&parent_id))
            .map_or(FolderKind::Mail, |f| f.kind);
        store.create_folder(
            mailbox,
            &parent_id,
            name,
            Some(kind.default_class().to_owned()),
            kind,
            Vec::new(),
        )
    }

    fn insert_user_item(
        &self,
        mailbox: &str,
        folder: DistinguishedFolder,
        item: Item,
    ) -> Result<ItemId, StoreError> {
        let mut store = lock(&self.store);
        let folder_id = Self::folder_of(&store, mailbox, folder)?;
        store.insert_item(mailbox, &folder_id, item)
    }

    /// Creates a calendar item in `mailbox`'s Calendar, organised by its owner. An end
    /// before the start is refused, as Outlook and Exchange refuse it.
    pub fn create_calendar_item(
        &self,
        mailbox: &str,
        new: NewCalendarItem,
    ) -> Result<ItemId, StoreError> {
        if let (Some(start), Some(end)) = (new.start, new.end)
            && end < start
        {
            return Err(StoreError::InvalidValue {
                field: "end",
                value: format!("{} is before the start {}", rfc3339(end), rfc3339(start)),
            });
        }
        let now = OffsetDateTime::now_utc();
        let mut item = Item::new(ItemKind::CalendarItem, now);
        item.subject = Some(new.subject);
        item.body.text = new.body_text;
        item.calendar.start = new.start;
        item.calendar.end = new.end;
        item.calendar.location = new.location;
        item.calendar.is_all_day = Some(new.is_all_day);
        item.calendar.uid = Some(uuid::Uuid::new_v4().simple().to_string());
        item.calendar.is_meeting =
            Some(!new.attendees.is_empty() || !new.optional_attendees.is_empty());
        item.calendar.required_attendees = new.attendees;
        item.calendar.optional_attendees = new.optional_attendees;
        item.calendar.organizer = Some(self.owner(mailbox));
        item.extended = new.extended_properties;
        item.categories = new.categories;
        self.insert_user_item(mailbox, DistinguishedFolder::Calendar, item)
    }

    /// Creates a contact in `mailbox`'s Contacts. Without a display name it is "given
    /// surname", else the e-mail address (Outlook's File As needs one of them).
    pub fn create_contact(&self, mailbox: &str, mut new: NewContact) -> Result<ItemId, StoreError> {
        if new.display_name.trim().is_empty() {
            let names: Vec<&str> = [new.given_name.as_deref(), new.surname.as_deref()]
                .into_iter()
                .flatten()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .collect();
            new.display_name = if names.is_empty() {
                new.email.clone().unwrap_or_default().trim().to_owned()
            } else {
                names.join(" ")
            };
        }
        if new.display_name.is_empty() {
            return Err(StoreError::InvalidValue {
                field: "display_name",
                value: "(none: give a display name, a given name or surname, or an e-mail)".into(),
            });
        }
        let now = OffsetDateTime::now_utc();
        let mut item = Item::new(ItemKind::Contact, now);
        item.subject = Some(new.display_name.clone());
        item.contact.file_as = Some(new.display_name.clone());
        item.contact.display_name = Some(new.display_name);
        item.contact.given_name = new.given_name;
        item.contact.surname = new.surname;
        item.contact.company_name = new.company_name;
        if let Some(email) = new.email {
            item.contact
                .email_addresses
                .push(("EmailAddress1".into(), email));
        }
        if let Some(phone) = new.business_phone {
            item.contact
                .phone_numbers
                .push(("BusinessPhone".into(), phone));
        }
        item.extended = new.extended_properties;
        item.categories = new.categories;
        self.insert_user_item(mailbox, DistinguishedFolder::Contacts, item)
    }

    /// Creates a task in `mailbox`'s Tasks. A status outside `t:TaskStatusType` is refused
    /// (it would make every response carrying the task invalid).
    pub fn create_task(&self, mailbox: &str, new: NewTask) -> Result<ItemId, StoreError> {
        if let Some(status) = &new.status
            && !TASK_STATUSES.contains(&status.as_str())
        {
            return Err(StoreError::InvalidValue {
                field: "status",
                value: format!("{status} (one of {})", TASK_STATUSES.join(", ")),
            });
        }
        let now = OffsetDateTime::now_utc();
        let mut item = Item::new(ItemKind::Task, now);
        item.subject = Some(new.subject);
        item.body.text = new.body_text;
        item.task.start_date = new.start;
        item.task.due_date = new.due;
        if new.status.as_deref() == Some("Completed") {
            item.task.is_complete = Some(true);
            item.task.percent_complete = Some(100.0);
            item.task.complete_date = Some(now);
        }
        item.task.status = new.status;
        item.extended = new.extended_properties;
        item.categories = new.categories;
        self.insert_user_item(mailbox, DistinguishedFolder::Tasks, item)
    }

    fn owner(&self, mailbox: &str) -> EmailAddress {
        lock(&self.store)
            .mailbox(mailbox)
            .map(|m| EmailAddress::named(m.display_name.clone(), m.smtp.clone()))
            .unwrap_or_else(|| EmailAddress::new(mailbox))
    }

    /// Changes an item as its user would; returns the new change key.
    pub fn update_item(
        &self,
        mailbox: &str,
        id: &ItemId,
        update: ItemUpdate,
    ) -> Result<ChangeKey, StoreError> {
        let kind = if update.read_flag_only() {
            ChangeKind::ReadFlag
        } else {
            ChangeKind::Update
        };
        lock(&self.store).modify_item(mailbox, id, kind, |item| {
            if let Some(s) = update.subject {
                item.subject = Some(s);
            }
            if let Some(b) = update.body_text {
                item.body = Body {
                    text: Some(b),
                    html: None,
                };
            }
            if let Some(r) = update.is_read {
                item.is_read = r;
            }
            if let Some(l) = update.location {
                item.calendar.location = Some(l);
            }
            if let Some(s) = update.start {
                item.calendar.start = Some(s);
            }
            if let Some(e) = update.end {
                item.calendar.end = Some(e);
            }
            if let Some(c) = update.categories {
                item.categories = c;
            }
            if let Some(a) = update.required_attendees {
                item.calendar.required_attendees = a;
            }
            if let Some(a) = update.optional_attendees {
                item.calendar.optional_attendees = a;
            }
            for p in update.extended_properties {
                upsert_property(&mut item.extended, p);
            }
        })
    }

    /// Marks an item read or unread.
    pub fn set_read(
        &self,
        mailbox: &str,
        id: &ItemId,
        is_read: bool,
    ) -> Result<ChangeKey, StoreError> {
        self.update_item(
            mailbox,
            id,
            ItemUpdate {
                is_read: Some(is_read),
                ..ItemUpdate::default()
            },
        )
    }

    /// Deletes an item for good (as Shift+Delete does).
    pub fn delete_item(&self, mailbox: &str, id: &ItemId) -> Result<(), StoreError> {
        lock(&self.store).remove_item(mailbox, id).map(|_| ())
    }

    /// Moves an item to a distinguished folder; returns its new id.
    pub fn move_item(
        &self,
        mailbox: &str,
        id: &ItemId,
        to: DistinguishedFolder,
    ) -> Result<ItemId, StoreError> {
        let mut store = lock(&self.store);
        let folder = Self::folder_of(&store, mailbox, to)?;
        store.move_item(mailbox, id, &folder)
    }
}

/// The values of `t:TaskStatusType`.
const TASK_STATUSES: [&str; 5] = [
    "NotStarted",
    "InProgress",
    "Completed",
    "WaitingOnOthers",
    "Deferred",
];

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn summary(item: &Item) -> ItemSummary {
    let (from, to, cc, start, end) = match item.kind {
        ItemKind::CalendarItem => (
            item.calendar.organizer.clone(),
            item.calendar.required_attendees.clone(),
            item.calendar.optional_attendees.clone(),
            item.calendar.start,
            item.calendar.end,
        ),
        ItemKind::Task => (
            None,
            Vec::new(),
            Vec::new(),
            item.task.start_date,
            item.task.due_date,
        ),
        _ => (
            item.from.clone(),
            item.to.clone(),
            item.cc.clone(),
            None,
            None,
        ),
    };
    ItemSummary {
        id: item.id.clone(),
        change_key: item.change_key.clone(),
        kind: item.kind,
        subject: item.subject.clone(),
        from,
        to,
        cc,
        internet_message_id: item.internet_message_id.clone(),
        in_reply_to: item.in_reply_to.clone(),
        references: item.references.clone(),
        is_read: item.is_read,
        body_text: item.body.as_text(),
        received: item.received.unwrap_or(item.created),
        start,
        end,
        attachment_names: item.attachments.iter().map(|a| a.name.clone()).collect(),
        extended_properties: item.extended.clone(),
        categories: item.categories.clone(),
        location: item.calendar.location.clone(),
        status: match item.kind {
            ItemKind::Task => Some(
                item.task
                    .status
                    .clone()
                    .unwrap_or_else(|| "NotStarted".to_owned()),
            ),
            _ => None,
        },
        contact: (item.kind == ItemKind::Contact).then(|| {
            let c = &item.contact;
            let mut email_addresses = c.email_addresses.clone();
            email_addresses.sort();
            ContactSummary {
                display_name: c.display_name.clone(),
                given_name: c.given_name.clone(),
                surname: c.surname.clone(),
                company_name: c.company_name.clone(),
                job_title: c.job_title.clone(),
                email_addresses,
                phone_numbers: c.phone_numbers.clone(),
            }
        }),
    }
}

/// Decides the acting mailbox from the impersonation header, or faults as Exchange does.
fn acting_mailbox(
    call: &EwsCall<'_>,
    header: Option<roxmltree::Node<'_, '_>>,
) -> Result<Option<String>, Fault> {
    let sid = header
        .and_then(|h| xml::child(h, NS_T, "ExchangeImpersonation"))
        .map(|i| xml::child(i, NS_T, "ConnectingSID"));
    let Some(sid) = sid else {
        // No impersonation: the logon account's own mailbox, if it has one.
        return Ok(call
            .logon
            .smtp
            .as_deref()
            .and_then(|s| call.directory.mailbox(s))
            .map(|m| m.smtp.clone()));
    };
    let target = sid.and_then(|s| xml::elements(s).next()).ok_or_else(|| {
        Fault::new(
            "ErrorInvalidExchangeImpersonationHeaderData",
            "The impersonation header does not name an account.",
        )
    })?;
    let value = xml::text(target).trim().to_owned();
    let no_mailbox = || {
        Fault::new(
            "ErrorNonExistentMailbox",
            "The SMTP address has no mailbox associated with it.",
        )
    };
    let entry = match target.tag_name().name() {
        "PrimarySmtpAddress" | "SmtpAddress" => call.directory.mailbox(&value),
        "PrincipalName" => call
            .directory
            .account(&value)
            .and_then(|a| a.smtp.as_deref())
            .and_then(|s| call.directory.mailbox(s))
            .or_else(|| call.directory.mailbox(&value)),
        // The directory has no SIDs.
        _ => None,
    }
    .ok_or_else(no_mailbox)?;
    if !call
        .directory
        .can_impersonate(&call.logon.user, &entry.smtp)
    {
        tracing::info!(logon = %call.logon.user, mailbox = %entry.smtp, "impersonation denied");
        return Err(Fault::new(
            "ErrorImpersonateUserDenied",
            "The account does not have permission to impersonate the requested user.",
        ));
    }
    Ok(Some(entry.smtp.clone()))
}

/// The local name of the SOAP body's first element (`GetItem`), without validating anything;
/// the HTTP layer uses it to apply per-operation faults and throttling.
pub fn operation_name(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc = roxmltree::Document::parse(text).ok()?;
    let root = doc.root_element();
    if !xml::is(root, NS_SOAP, "Envelope") {
        return None;
    }
    let op = xml::child(root, NS_SOAP, "Body").and_then(|b| xml::elements(b).next())?;
    Some(op.tag_name().name().to_owned())
}

/// A SOAP fault as Exchange sends it (HTTP 500), with `e:ResponseCode`, `e:Message` and,
/// for `ErrorServerBusy`, `t:MessageXml/t:Value Name="BackOffMilliseconds"`.
pub fn soap_fault(code: &str, message: &str, back_off_ms: Option<u64>) -> String {
    let message_xml = match back_off_ms {
        Some(ms) => {
            let mut w = xml::XmlWriter::new();
            w.start("t:MessageXml", &[("xmlns:t", NS_T)]);
            w.leaf_attrs(
                "t:Value",
                &[("Name", "BackOffMilliseconds")],
                &ms.to_string(),
            );
            w.end("t:MessageXml");
            w.into_string()
        }
        None => String::new(),
    };
    fault_document(code, message, message, &message_xml)
}
