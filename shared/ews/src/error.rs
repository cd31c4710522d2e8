//! EWS errors and their classification.
//!
//! Every failure exsync can meet while talking to Exchange becomes an [`EwsError`], and every
//! [`EwsError`] answers [`EwsError::class`]: the one decision callers need (retry later,
//! disable the mailbox, open the profile's circuit, skip the item, resync from scratch).
//! The table behind it lives in `docs/errors.md`; a test walks that table.
//!
//! Reference: [ResponseCode](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/responsecode).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

macro_rules! response_codes {
    ($( $(#[$doc:meta])* $name:ident ),* $(,)?) => {
        /// An EWS `ResponseCode`: an open set.
        ///
        /// The 2010 SP2 schema lists the codes as a closed enumeration, but newer servers send
        /// codes it lacks (for example `ErrorTooManyObjectsOpened`), so unknown values are kept
        /// verbatim in [`ResponseCode::Other`] rather than failing the document. Only the codes
        /// exsync reacts to, or is likely to meet while syncing items and folders, have a
        /// variant; the rest arrive as `Other` and take the default class.
        ///
        /// Reference: [ResponseCode](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/responsecode).
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ResponseCode {
            $( $(#[$doc])* $name, )*
            /// Any code this crate has no variant for, as the server spelled it.
            Other(String),
        }

        impl ResponseCode {
            /// Every code with a variant of its own, in declaration order (for tables and tests).
            pub const KNOWN: &'static [ResponseCode] = &[ $( ResponseCode::$name ),* ];

            /// The code as EWS spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( ResponseCode::$name => stringify!($name), )*
                    ResponseCode::Other(s) => s,
                }
            }

            fn known(s: &str) -> Option<ResponseCode> {
                match s {
                    $( stringify!($name) => Some(ResponseCode::$name), )*
                    _ => None,
                }
            }
        }
    };
}

response_codes! {
    /// The request succeeded.
    NoError,

    // --- transient: the server is overloaded or momentarily unable to serve ---
    /// Throttled; a `BackOffMilliseconds` hint usually comes with it.
    ErrorServerBusy,
    /// More concurrent requests than EWSMaxConcurrency allows for the account.
    ErrorExceededConnectionCount,
    /// Too many store objects open for the session (2013+; absent from the 2010 SP2 schema).
    ErrorTooManyObjectsOpened,
    /// The request took longer than the server allows (batches run for at most a minute).
    ErrorTimeoutExpired,
    /// A server error the server itself calls transient.
    ErrorInternalServerTransientError,
    /// The mailbox database is offline (failover, maintenance).
    ErrorMailboxStoreUnavailable,
    /// The CAS could not reach the mailbox server.
    ErrorConnectionFailed,
    /// The mailbox is being moved between databases.
    ErrorMailboxMoveInProgress,
    /// An unspecified server failure; the real cause may sit in `InnerErrorResponseCode`.
    ErrorInternalServerError,
    /// A FindItem/FindFolder exceeded EWSFindCountLimit.
    ErrorExceededFindCountLimit,
    /// The account has more subscriptions than EWSMaxSubscriptions allows.
    ErrorExceededSubscriptionCount,
    /// The server ran short of resources.
    ErrorInsufficientResources,
    /// The server ran out of memory.
    ErrorNotEnoughMemory,
    /// Active Directory was unreachable from the server.
    ErrorADUnavailable,
    /// An earlier item of the batch failed and the server stopped processing the rest.
    ErrorBatchProcessingStopped,
    /// The mailbox database is failing over.
    ErrorMailboxFailover,
    /// No CAS in the mailbox's site answered a proxied request.
    ErrorNoRespondingCASInDestinationSite,

    // --- mailbox-permanent: this mailbox cannot be synced until an admin acts ---
    /// The impersonated address has no mailbox.
    ErrorNonExistentMailbox,
    /// The service account may not impersonate this user.
    ErrorImpersonateUserDenied,
    /// Impersonation was refused for this request.
    ErrorImpersonationDenied,
    /// Impersonation failed (for example the user could not be resolved).
    ErrorImpersonationFailed,
    /// The ExchangeImpersonation header names the user in a way the server cannot use.
    ErrorInvalidExchangeImpersonationHeaderData,
    /// The caller has no right to the mailbox or object.
    ErrorAccessDenied,
    /// The mailbox owner's account is disabled.
    ErrorAccountDisabled,
    /// The mailbox is misconfigured on the server.
    ErrorMailboxConfiguration,
    /// The mailbox is over its storage quota.
    ErrorQuotaExceeded,
    /// The server could not log on to the mailbox.
    ErrorMailboxLogonFailed,
    /// The address used is not the mailbox's primary SMTP address.
    ErrorNonPrimarySmtpAddress,

    // --- profile-level: the service account itself is unusable ---
    /// The service account's password has expired.
    ErrorPasswordExpired,
    /// The service account must change its password before it can log on.
    ErrorPasswordChangeRequired,

    // --- item-level: only this item (or folder) is affected ---
    /// The item does not exist (any more).
    ErrorItemNotFound,
    /// The change key is malformed.
    ErrorInvalidChangeKey,
    /// The update conflicts with a newer version of the item.
    ErrorIrresolvableConflict,
    /// A change key is required for this operation.
    ErrorChangeKeyRequired,
    /// A change key is required to write this item.
    ErrorChangeKeyRequiredForWriteOperations,
    /// The change key is out of date: the item changed since it was read.
    ErrorStaleObject,
    /// The id is not valid.
    ErrorInvalidId,
    /// The id is malformed.
    ErrorInvalidIdMalformed,
    /// The id is empty.
    ErrorInvalidIdEmpty,
    /// The message exceeds the size limit.
    ErrorMessageSizeExceeded,
    /// An attachment exceeds the size limit.
    ErrorAttachmentSizeLimitExceeded,
    /// The item's data is corrupt.
    ErrorCorruptData,
    /// The item is corrupt in the store.
    ErrorItemCorrupt,
    /// The item could not be saved.
    ErrorItemSave,
    /// A property of the item could not be saved.
    ErrorItemSavePropertyError,
    /// The attachment id is not valid.
    ErrorInvalidAttachmentId,
    /// The file attachment could not be opened.
    ErrorCannotOpenFileAttachment,
    /// The item could not be converted to MIME.
    ErrorMimeContentConversionFailed,
    /// The supplied MIME content is invalid.
    ErrorMimeContentInvalid,
    /// The item's content could not be converted.
    ErrorContentConversionFailed,
    /// A property value is not valid for the property.
    ErrorInvalidValueForProperty,
    /// The folder does not exist.
    ErrorFolderNotFound,
    /// A folder with that name already exists.
    ErrorFolderExists,
    /// The destination folder does not exist.
    ErrorToFolderNotFound,
    /// The parent folder does not exist.
    ErrorParentFolderNotFound,
    /// The folder to save the item in does not exist.
    ErrorSavedItemFolderNotFound,
    /// The move or copy failed.
    ErrorMoveCopyFailed,
    /// The object cannot be deleted.
    ErrorCannotDeleteObject,
    /// A distinguished folder cannot be deleted.
    ErrorDeleteDistinguishedFolder,
    /// The recipients are not valid.
    ErrorInvalidRecipients,
    /// The caller may not send as the given sender.
    ErrorSendAsDenied,
    /// A virus was detected in the message.
    ErrorVirusDetected,
    /// The request body is larger than the server accepts (because of this item's content).
    ErrorRequestStreamTooBig,
    /// A calendar item can only be created in a calendar folder.
    ErrorCannotCreateCalendarItemInNonCalendarFolder,
    /// A contact can only be created in a contacts folder.
    ErrorCannotCreateContactInNonContactFolder,
    /// A task can only be created in a tasks folder.
    ErrorCannotCreateTaskInNonTaskFolder,
    /// The item's type changed since it was read.
    ErrorObjectTypeChanged,
    /// The task completion date is not valid.
    ErrorInvalidCompleteDate,
    /// The task's percent complete is out of range.
    ErrorInvalidPercentCompleteValue,
    /// The contact e-mail address is not valid.
    ErrorInvalidContactEmailAddress,

    // --- sync state invalid: drop the stored state and resync ---
    /// The SyncState is corrupt, from another folder, or of the wrong kind.
    ErrorInvalidSyncStateData,
    /// The folder being synchronized no longer exists.
    ErrorSyncFolderNotFound,

    // --- request: exsync built a request Exchange refuses ---
    /// The request failed schema validation.
    ErrorSchemaValidation,
    /// The request is not valid.
    ErrorInvalidRequest,
    /// The requested schema version is too new for the mailbox's server.
    ErrorInvalidSchemaVersionForMailboxVersion,
    /// The RequestServerVersion is not valid.
    ErrorInvalidServerVersion,
    /// The request's schema version is not what the server expects.
    ErrorIncorrectSchemaVersion,
    /// The request targets the wrong server version.
    ErrorWrongServerVersion,
    /// An argument is not valid.
    ErrorInvalidArgument,
    /// An argument is missing.
    ErrorMissingArgument,
    /// The operation is not valid in this context.
    ErrorInvalidOperation,
    /// A requested property is not valid for the item type.
    ErrorInvalidPropertyRequest,
    /// The property cannot be used with this operation.
    ErrorInvalidPropertyForOperation,
    /// A property set is not valid.
    ErrorInvalidPropertySet,
    /// The property cannot be appended to.
    ErrorInvalidPropertyAppend,
    /// The property cannot be deleted.
    ErrorInvalidPropertyDelete,
    /// An update names more or fewer properties than its item element carries.
    ErrorIncorrectUpdatePropertyCount,
    /// The restriction is not valid.
    ErrorInvalidRestriction,
    /// The property path cannot be used in a query.
    ErrorUnsupportedPathForQuery,
    /// The extended property definition is not valid.
    ErrorInvalidExtendedProperty,
    /// The extended property value does not fit its type.
    ErrorInvalidExtendedPropertyValue,
    /// The MAPI property type is not supported.
    ErrorUnsupportedMapiPropertyType,
    /// The paging parameters are not valid.
    ErrorInvalidIndexedPagingParameters,
    /// The page size is not valid.
    ErrorInvalidPagingMaxRows,
    /// A MessageDisposition is required for messages.
    ErrorMessageDispositionRequired,
    /// SendMeetingInvitations is required for calendar items.
    ErrorSendMeetingInvitationsRequired,
    /// SendMeetingCancellations is required to delete calendar items.
    ErrorSendMeetingCancellationsRequired,
    /// SendMeetingInvitationsOrCancellations is required to update calendar items.
    ErrorSendMeetingInvitationsOrCancellationsRequired,
    /// AffectedTaskOccurrences is required to delete tasks.
    ErrorAffectedTaskOccurrencesRequired,
    /// A SOAP header appears twice.
    ErrorDuplicateSOAPHeader,
}

impl ResponseCode {
    /// The class this code has wherever it appears, or `None` when it depends on where it
    /// came from (codes without a decision of their own, and every [`ResponseCode::Other`]).
    ///
    /// See `docs/errors.md`, which a test keeps in step with this function.
    pub fn explicit_class(&self) -> Option<ErrorClass> {
        use ErrorClass::*;
        use ResponseCode::*;
        let transient = Transient { back_off: None };
        Some(match self {
            ErrorServerBusy
            | ErrorExceededConnectionCount
            | ErrorTooManyObjectsOpened
            | ErrorTimeoutExpired
            | ErrorInternalServerTransientError
            | ErrorMailboxStoreUnavailable
            | ErrorConnectionFailed
            | ErrorMailboxMoveInProgress
            | ErrorInternalServerError
            | ErrorExceededFindCountLimit
            | ErrorExceededSubscriptionCount
            | ErrorInsufficientResources
            | ErrorNotEnoughMemory
            | ErrorADUnavailable
            | ErrorBatchProcessingStopped
            | ErrorMailboxFailover
            | ErrorNoRespondingCASInDestinationSite => transient,

            ErrorNonExistentMailbox
            | ErrorImpersonateUserDenied
            | ErrorImpersonationDenied
            | ErrorImpersonationFailed
            | ErrorInvalidExchangeImpersonationHeaderData
            | ErrorAccessDenied
            | ErrorAccountDisabled
            | ErrorMailboxConfiguration
            | ErrorQuotaExceeded
            | ErrorMailboxLogonFailed
            | ErrorNonPrimarySmtpAddress => MailboxPermanent,

            ErrorPasswordExpired | ErrorPasswordChangeRequired => ProfileLevel,

            ErrorItemNotFound
            | ErrorInvalidChangeKey
            | ErrorIrresolvableConflict
            | ErrorChangeKeyRequired
            | ErrorChangeKeyRequiredForWriteOperations
            | ErrorStaleObject
            | ErrorInvalidId
            | ErrorInvalidIdMalformed
            | ErrorInvalidIdEmpty
            | ErrorMessageSizeExceeded
            | ErrorAttachmentSizeLimitExceeded
            | ErrorCorruptData
            | ErrorItemCorrupt
            | ErrorItemSave
            | ErrorItemSavePropertyError
            | ErrorInvalidAttachmentId
            | ErrorCannotOpenFileAttachment
            | ErrorMimeContentConversionFailed
            | ErrorMimeContentInvalid
            | ErrorContentConversionFailed
            | ErrorInvalidValueForProperty
            | ErrorFolderNotFound
            | ErrorFolderExists
            | ErrorToFolderNotFound
            | ErrorParentFolderNotFound
            | ErrorSavedItemFolderNotFound
            | ErrorMoveCopyFailed
            | ErrorCannotDeleteObject
            | ErrorDeleteDistinguishedFolder
            | ErrorInvalidRecipients
            | ErrorSendAsDenied
            | ErrorVirusDetected
            | ErrorRequestStreamTooBig
            | ErrorCannotCreateCalendarItemInNonCalendarFolder
            | ErrorCannotCreateContactInNonContactFolder
            | ErrorCannotCreateTaskInNonTaskFolder
            | ErrorObjectTypeChanged
            | ErrorInvalidCompleteDate
            | ErrorInvalidPercentCompleteValue
            | ErrorInvalidContactEmailAddress => ItemLevel,

            ErrorInvalidSyncStateData | ErrorSyncFolderNotFound => SyncStateInvalid,

            ErrorSchemaValidation
            | ErrorInvalidRequest
            | ErrorInvalidSchemaVersionForMailboxVersion
            | ErrorInvalidServerVersion
            | ErrorIncorrectSchemaVersion
            | ErrorWrongServerVersion
            | ErrorInvalidArgument
            | ErrorMissingArgument
            | ErrorInvalidOperation
            | ErrorInvalidPropertyRequest
            | ErrorInvalidPropertyForOperation
            | ErrorInvalidPropertySet
            | ErrorInvalidPropertyAppend
            | ErrorInvalidPropertyDelete
            | ErrorIncorrectUpdatePropertyCount
            | ErrorInvalidRestriction
            | ErrorUnsupportedPathForQuery
            | ErrorInvalidExtendedProperty
            | ErrorInvalidExtendedPropertyValue
            | ErrorUnsupportedMapiPropertyType
            | ErrorInvalidIndexedPagingParameters
            | ErrorInvalidPagingMaxRows
            | ErrorMessageDispositionRequired
            | ErrorSendMeetingInvitationsRequired
            | ErrorSendMeetingCancellationsRequired
            | ErrorSendMeetingInvitationsOrCancellationsRequired
            | ErrorAffectedTaskOccurrencesRequired
            | ErrorDuplicateSOAPHeader => Request,

            NoError | Other(_) => return None,
        })
    }

    /// The class of this code when it comes in a per-item response message: its
    /// [explicit class](ResponseCode::explicit_class), or [`ErrorClass::ItemLevel`] for any
    /// code without one (an unknown error about one item should cost only that item).
    ///
    /// The same code in a SOAP fault defaults to transient instead; see [`EwsError::class`].
    pub fn class(&self) -> ErrorClass {
        self.explicit_class().unwrap_or(ErrorClass::ItemLevel)
    }

    /// True for `NoError`.
    pub fn is_success(&self) -> bool {
        matches!(self, ResponseCode::NoError)
    }
}

impl FromStr for ResponseCode {
    type Err = std::convert::Infallible;

    /// Never fails: unknown codes become [`ResponseCode::Other`]. Surrounding whitespace is
    /// ignored because servers indent fault details.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Ok(ResponseCode::known(s).unwrap_or_else(|| ResponseCode::Other(s.to_owned())))
    }
}

impl From<&str> for ResponseCode {
    fn from(s: &str) -> Self {
        let s = s.trim();
        ResponseCode::known(s).unwrap_or_else(|| ResponseCode::Other(s.to_owned()))
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ResponseCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What a caller should do about an error. See `docs/errors.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later; Exchange may say how long to wait.
    Transient {
        /// The server's `BackOffMilliseconds`, when it gave one.
        back_off: Option<Duration>,
    },
    /// This mailbox cannot be synced until an admin acts (non-existent mailbox, impersonation
    /// denied, access denied…): disable the workload and alert.
    MailboxPermanent,
    /// The whole profile is broken (credentials rejected, TLS failure, endpoint unreachable,
    /// Autodiscover failed): open the profile's circuit, disable nothing.
    ProfileLevel,
    /// Only this item is affected (not found, stale change key…): log it and go on.
    ItemLevel,
    /// The stored sync state is no longer valid: drop it and resync from scratch.
    SyncStateInvalid,
    /// A request exsync built that Exchange refused (schema or argument error): a bug or a
    /// configuration exsync cannot fix by retrying.
    Request,
}

impl ErrorClass {
    /// The class's name as `docs/errors.md` and JSON output spell it (`Transient`, …).
    pub fn name(&self) -> &'static str {
        match self {
            ErrorClass::Transient { .. } => "Transient",
            ErrorClass::MailboxPermanent => "MailboxPermanent",
            ErrorClass::ProfileLevel => "ProfileLevel",
            ErrorClass::ItemLevel => "ItemLevel",
            ErrorClass::SyncStateInvalid => "SyncStateInvalid",
            ErrorClass::Request => "Request",
        }
    }

    fn with_back_off(self, back_off: Option<Duration>) -> ErrorClass {
        match self {
            ErrorClass::Transient { back_off: None } => ErrorClass::Transient { back_off },
            other => other,
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A SOAP fault: the whole request failed (Exchange answers these with HTTP 500).
///
/// Exchange puts its own code in the fault detail (`e:ResponseCode`) and, for throttling, a
/// `t:MessageXml/t:Value Name="BackOffMilliseconds"`. The SOAP `faultcode` is a QName
/// (`a:ErrorServerBusy`) kept verbatim as a string, since its prefix means nothing on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapFault {
    /// The SOAP `faultcode` (a QName such as `a:ErrorServerBusy` or `s:Client`).
    pub fault_code: String,
    /// The SOAP `faultstring`.
    pub fault_string: String,
    /// The EWS code: the detail's `ResponseCode`, else the `faultcode`'s local part.
    pub code: ResponseCode,
    /// The detail's `Message`.
    pub message: Option<String>,
    /// The server's back-off hint (`BackOffMilliseconds`).
    pub back_off: Option<Duration>,
    /// `InnerErrorResponseCode` from `MessageXml`, when the server wrapped the real cause.
    pub inner_code: Option<ResponseCode>,
}

impl fmt::Display for SoapFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SOAP fault {}", self.code)?;
        if let Some(inner) = &self.inner_code {
            write!(f, " (inner {inner})")?;
        }
        let text = self.message.as_deref().unwrap_or(&self.fault_string);
        if !text.is_empty() {
            write!(f, ": {text}")?;
        }
        Ok(())
    }
}

/// An error in one response message: a per-item error in a batch, or the single message of
/// a non-batched call.
///
/// Reference: [ResponseMessage elements](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/responsemessages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseError {
    /// The message's `ResponseClass` as sent (`Error`, `Warning`).
    pub response_class: String,
    /// The message's `ResponseCode`.
    pub code: ResponseCode,
    /// The message's `MessageText`.
    pub message: Option<String>,
    /// `BackOffMilliseconds` from `MessageXml`.
    pub back_off: Option<Duration>,
    /// `InnerErrorResponseCode` from `MessageXml` (Exchange wraps throttling that happens
    /// deep in a batch as `ErrorInternalServerError` with the real code here).
    pub inner_code: Option<ResponseCode>,
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(inner) = &self.inner_code {
            write!(f, " (inner {inner})")?;
        }
        if let Some(text) = self.message.as_deref().filter(|t| !t.is_empty()) {
            write!(f, ": {text}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong talking EWS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EwsError {
    /// The HTTP/TLS layer failed (see [`crate::transport::TransportError`]).
    #[error("EWS transport failed")]
    Transport(#[from] crate::transport::TransportError),
    /// A response document is not well-formed XML, or exceeds a limit.
    #[error("malformed EWS response")]
    Xml(#[from] crate::xml::XmlError),
    /// The document is XML but not a SOAP envelope (an HTML error page from a proxy, an
    /// Autodiscover answer…). The CLI matches on this variant to try other readers.
    #[error("not a SOAP envelope: root element is {{{root_ns}}}{root_name}")]
    NotSoapEnvelope {
        /// The root element's namespace URI ("" when none).
        root_ns: String,
        /// The root element's local name.
        root_name: String,
    },
    /// A SOAP envelope without the shape EWS promises: a missing element, a wrong namespace,
    /// an unexpected body element.
    #[error("unexpected EWS response shape at {location}: {what}")]
    UnexpectedShape {
        /// What was wrong.
        what: String,
        /// Where, as a path of element names.
        location: String,
    },
    /// The server answered with a SOAP fault.
    #[error("{0}")]
    Fault(Box<SoapFault>),
    /// A response message reported an error.
    #[error("EWS response message: {0}")]
    Response(Box<ResponseError>),
    /// The number of response messages does not match the number of request items, so
    /// results cannot be paired with requests.
    #[error("expected {expected} EWS response messages, got {actual}")]
    MessageCount {
        /// How many the request called for.
        expected: usize,
        /// How many arrived.
        actual: usize,
    },
}

impl EwsError {
    /// What a caller should do about this error.
    ///
    /// A code in a response message takes [`ResponseCode::class`] (unknown codes: item-level);
    /// a code in a SOAP fault takes its explicit class, else transient (the whole call failed
    /// for a reason exsync does not know: retrying later is the safe default). When Exchange
    /// wraps the real cause as `InnerErrorResponseCode`, the inner code decides if it has a
    /// class of its own. A transient class carries the server's back-off hint.
    pub fn class(&self) -> ErrorClass {
        match self {
            EwsError::Transport(t) => t.class(),
            // A malformed or unexpected answer fails that one call; retrying later is the
            // safe default (proxies and overloaded servers produce these).
            EwsError::Xml(_)
            | EwsError::NotSoapEnvelope { .. }
            | EwsError::UnexpectedShape { .. }
            | EwsError::MessageCount { .. } => ErrorClass::Transient { back_off: None },
            EwsError::Fault(f) => {
                let class = inner_class(f.inner_code.as_ref())
                    .or_else(|| f.code.explicit_class())
                    .unwrap_or(ErrorClass::Transient { back_off: None });
                class.with_back_off(f.back_off)
            }
            EwsError::Response(r) => {
                let class = inner_class(r.inner_code.as_ref()).unwrap_or_else(|| r.code.class());
                class.with_back_off(r.back_off)
            }
        }
    }

    /// The EWS response code, for faults and response-message errors.
    pub fn response_code(&self) -> Option<&ResponseCode> {
        match self {
            EwsError::Fault(f) => Some(&f.code),
            EwsError::Response(r) => Some(&r.code),
            _ => None,
        }
    }

    /// The inner response code (`InnerErrorResponseCode`), when the server sent one.
    pub fn inner_code(&self) -> Option<&ResponseCode> {
        match self {
            EwsError::Fault(f) => f.inner_code.as_ref(),
            EwsError::Response(r) => r.inner_code.as_ref(),
            _ => None,
        }
    }

    /// The server's back-off hint (`BackOffMilliseconds`), when it gave one.
    pub fn back_off(&self) -> Option<Duration> {
        match self {
            EwsError::Fault(f) => f.back_off,
            EwsError::Response(r) => r.back_off,
            _ => None,
        }
    }

    pub(crate) fn shape(what: impl Into<String>, location: impl Into<String>) -> EwsError {
        EwsError::UnexpectedShape {
            what: what.into(),
            location: location.into(),
        }
    }
}

fn inner_class(inner: Option<&ResponseCode>) -> Option<ErrorClass> {
    inner.and_then(ResponseCode::explicit_class)
}

/// An error and its causes on one line (`error: cause: cause…`), for logs and reports.
/// No error of this crate carries credentials or message bodies in its text.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_error(code: &str, inner: Option<&str>, back_off_ms: Option<u64>) -> EwsError {
        EwsError::Response(Box::new(ResponseError {
            response_class: "Error".into(),
            code: code.into(),
            message: None,
            back_off: back_off_ms.map(Duration::from_millis),
            inner_code: inner.map(ResponseCode::from),
        }))
    }

    fn fault(code: &str) -> EwsError {
        EwsError::Fault(Box::new(SoapFault {
            fault_code: format!("a:{code}"),
            fault_string: String::new(),
            code: code.into(),
            message: None,
            back_off: None,
            inner_code: None,
        }))
    }

    #[test]
    fn every_known_code_round_trips_through_its_spelling() {
        for code in ResponseCode::KNOWN {
            assert_eq!(&ResponseCode::from(code.as_str()), code);
            assert!(!matches!(code, ResponseCode::Other(_)));
        }
    }

    #[test]
    fn unknown_codes_are_kept_verbatim() {
        let code: ResponseCode = " ErrorSomethingNew\n".parse().unwrap();
        assert_eq!(code, ResponseCode::Other("ErrorSomethingNew".into()));
        assert_eq!(code.to_string(), "ErrorSomethingNew");
    }

    #[test]
    fn unknown_code_in_a_message_costs_only_the_item() {
        assert_eq!(
            message_error("ErrorSomethingNew", None, None).class(),
            ErrorClass::ItemLevel
        );
    }

    #[test]
    fn unknown_code_in_a_fault_is_retried_later() {
        assert_eq!(
            fault("ErrorSomethingNew").class(),
            ErrorClass::Transient { back_off: None }
        );
    }

    #[test]
    fn known_code_in_a_fault_keeps_its_class() {
        assert_eq!(
            fault("ErrorImpersonateUserDenied").class(),
            ErrorClass::MailboxPermanent
        );
    }

    #[test]
    fn server_busy_carries_its_back_off() {
        assert_eq!(
            message_error("ErrorServerBusy", None, Some(1500)).class(),
            ErrorClass::Transient {
                back_off: Some(Duration::from_millis(1500))
            }
        );
    }

    #[test]
    fn internal_error_takes_the_class_of_its_inner_code() {
        let e = message_error(
            "ErrorInternalServerError",
            Some("ErrorServerBusy"),
            Some(20),
        );
        assert_eq!(
            e.class(),
            ErrorClass::Transient {
                back_off: Some(Duration::from_millis(20))
            }
        );
        let e = message_error("ErrorInternalServerError", Some("ErrorItemNotFound"), None);
        assert_eq!(e.class(), ErrorClass::ItemLevel);
    }

    #[test]
    fn an_unknown_inner_code_leaves_the_outer_class() {
        let e = message_error(
            "ErrorInternalServerError",
            Some("ErrorInvalidLicense"),
            None,
        );
        assert_eq!(e.class(), ErrorClass::Transient { back_off: None });
    }

    #[test]
    fn back_off_is_not_attached_to_non_transient_classes() {
        let e = message_error("ErrorItemNotFound", None, Some(10));
        assert_eq!(e.class(), ErrorClass::ItemLevel);
    }
}
