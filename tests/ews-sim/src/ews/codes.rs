//! The EWS response codes the simulator answers with, and a per-message error.
//!
//! <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/responsecode>

/// A `m:ResponseCode` value (a subset of the 2010 SP2 `ResponseCodeType` enumeration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseCode {
    /// Success.
    NoError,
    /// The caller may not open that mailbox or object.
    ErrorAccessDenied,
    /// A folder of that name already exists under the parent.
    ErrorFolderExists,
    /// No such folder.
    ErrorFolderNotFound,
    /// Impersonation not granted for the requested mailbox.
    ErrorImpersonateUserDenied,
    /// A SetItemField carried zero or several properties.
    ErrorIncorrectUpdatePropertyCount,
    /// The server failed.
    ErrorInternalServerError,
    /// The attachment id is not valid.
    ErrorInvalidAttachmentId,
    /// An id was empty.
    ErrorInvalidIdEmpty,
    /// An id is not one this server could have issued.
    ErrorInvalidIdMalformed,
    /// IndexedPage view parameters out of range.
    ErrorInvalidIndexedPagingParameters,
    /// The operation does not apply to this object.
    ErrorInvalidOperation,
    /// The property cannot be appended to.
    ErrorInvalidPropertyAppend,
    /// The property cannot be deleted.
    ErrorInvalidPropertyDelete,
    /// The property cannot be set.
    ErrorInvalidPropertySet,
    /// The request is not valid for this server.
    ErrorInvalidRequest,
    /// A restriction is not valid.
    ErrorInvalidRestriction,
    /// The sync state is not one this server issued for this folder (or it expired).
    ErrorInvalidSyncStateData,
    /// A value could not be used for the property.
    ErrorInvalidValueForProperty,
    /// The change key is stale and the caller asked never to overwrite.
    ErrorIrresolvableConflict,
    /// No such item.
    ErrorItemNotFound,
    /// Messages need a MessageDisposition.
    ErrorMessageDispositionRequired,
    /// A distinguished folder was named without a mailbox and the caller has none.
    ErrorMissingEmailAddress,
    /// A message to be sent has no recipients.
    ErrorMissingRecipients,
    /// `t:MimeContent` is not base64.
    ErrorMimeContentInvalidBase64String,
    /// ResolveNames found nobody.
    ErrorNameResolutionNoResults,
    /// No mailbox with that address.
    ErrorNonExistentMailbox,
    /// A calendar item was to be created outside a calendar folder.
    ErrorCannotCreateCalendarItemInNonCalendarFolder,
    /// A contact was to be created outside a contacts folder.
    ErrorCannotCreateContactInNonContactFolder,
    /// A task was to be created outside a tasks folder.
    ErrorCannotCreateTaskInNonTaskFolder,
    /// The request does not validate against the schema.
    ErrorSchemaValidation,
    /// The restriction names a property the server cannot search on.
    ErrorUnsupportedPathForQuery,
}

impl ResponseCode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseCode::NoError => "NoError",
            ResponseCode::ErrorAccessDenied => "ErrorAccessDenied",
            ResponseCode::ErrorFolderExists => "ErrorFolderExists",
            ResponseCode::ErrorFolderNotFound => "ErrorFolderNotFound",
            ResponseCode::ErrorImpersonateUserDenied => "ErrorImpersonateUserDenied",
            ResponseCode::ErrorIncorrectUpdatePropertyCount => "ErrorIncorrectUpdatePropertyCount",
            ResponseCode::ErrorInternalServerError => "ErrorInternalServerError",
            ResponseCode::ErrorInvalidAttachmentId => "ErrorInvalidAttachmentId",
            ResponseCode::ErrorInvalidIdEmpty => "ErrorInvalidIdEmpty",
            ResponseCode::ErrorInvalidIdMalformed => "ErrorInvalidIdMalformed",
            ResponseCode::ErrorInvalidIndexedPagingParameters => {
                "ErrorInvalidIndexedPagingParameters"
            }
            ResponseCode::ErrorInvalidOperation => "ErrorInvalidOperation",
            ResponseCode::ErrorInvalidPropertyAppend => "ErrorInvalidPropertyAppend",
            ResponseCode::ErrorInvalidPropertyDelete => "ErrorInvalidPropertyDelete",
            ResponseCode::ErrorInvalidPropertySet => "ErrorInvalidPropertySet",
            ResponseCode::ErrorInvalidRequest => "ErrorInvalidRequest",
            ResponseCode::ErrorInvalidRestriction => "ErrorInvalidRestriction",
            ResponseCode::ErrorInvalidSyncStateData => "ErrorInvalidSyncStateData",
            ResponseCode::ErrorInvalidValueForProperty => "ErrorInvalidValueForProperty",
            ResponseCode::ErrorIrresolvableConflict => "ErrorIrresolvableConflict",
            ResponseCode::ErrorItemNotFound => "ErrorItemNotFound",
            ResponseCode::ErrorMessageDispositionRequired => "ErrorMessageDispositionRequired",
            ResponseCode::ErrorMissingEmailAddress => "ErrorMissingEmailAddress",
            ResponseCode::ErrorMissingRecipients => "ErrorMissingRecipients",
            ResponseCode::ErrorMimeContentInvalidBase64String => {
                "ErrorMimeContentInvalidBase64String"
            }
            ResponseCode::ErrorNameResolutionNoResults => "ErrorNameResolutionNoResults",
            ResponseCode::ErrorNonExistentMailbox => "ErrorNonExistentMailbox",
            ResponseCode::ErrorCannotCreateCalendarItemInNonCalendarFolder => {
                "ErrorCannotCreateCalendarItemInNonCalendarFolder"
            }
            ResponseCode::ErrorCannotCreateContactInNonContactFolder => {
                "ErrorCannotCreateContactInNonContactFolder"
            }
            ResponseCode::ErrorCannotCreateTaskInNonTaskFolder => {
                "ErrorCannotCreateTaskInNonTaskFolder"
            }
            ResponseCode::ErrorSchemaValidation => "ErrorSchemaValidation",
            ResponseCode::ErrorUnsupportedPathForQuery => "ErrorUnsupportedPathForQuery",
        }
    }
}

/// A per-message error: the batch goes on, this message says `ResponseClass="Error"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EwsError {
    pub code: ResponseCode,
    pub text: String,
}

impl EwsError {
    pub(crate) fn new(code: ResponseCode, text: impl Into<String>) -> Self {
        Self {
            code,
            text: text.into(),
        }
    }

    pub(crate) fn item_not_found() -> Self {
        Self::new(
            ResponseCode::ErrorItemNotFound,
            "The specified object was not found in the store.",
        )
    }

    pub(crate) fn folder_not_found() -> Self {
        Self::new(
            ResponseCode::ErrorFolderNotFound,
            "The specified folder could not be found in the store.",
        )
    }

    pub(crate) fn malformed_id() -> Self {
        Self::new(ResponseCode::ErrorInvalidIdMalformed, "Id is malformed.")
    }
}

impl From<crate::store::StoreError> for EwsError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::NoSuchMailbox(_) => Self::new(
                ResponseCode::ErrorNonExistentMailbox,
                "The SMTP address has no mailbox associated with it.",
            ),
            StoreError::NoSuchItem(_) => Self::item_not_found(),
            StoreError::NoSuchFolder(_) => Self::folder_not_found(),
            StoreError::FolderExists(_) => Self::new(
                ResponseCode::ErrorFolderExists,
                "A folder with the specified name already exists.",
            ),
            StoreError::InvalidValue { field, value } => Self::new(
                ResponseCode::ErrorInvalidValueForProperty,
                format!("invalid value for {field}: {value}"),
            ),
        }
    }
}
