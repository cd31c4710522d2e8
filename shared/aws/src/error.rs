//! How AWS failures reach the domain. The store ports answer [`DomainError`]; what is not a
//! domain condition (a version conflict, an existing id, a missing item) becomes
//! `DomainError::Store`/`Crypto`/`Queue` with the SDK error boxed as its source, so the
//! kind (throttling, validation, a dropped connection) survives for logs and retry logic.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use exsync_domain::DomainError;
use exsync_domain::validation::ValidationErrors;

/// What went wrong in this crate that is not an SDK error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AwsError {
    /// A stored item does not have the shape of its entity.
    #[error("stored item {pk}/{sk} does not match its entity")]
    BadItem {
        /// The item's partition key.
        pk: String,
        /// The item's sort key.
        sk: String,
        /// Why it did not deserialize.
        #[source]
        source: serde_dynamo::Error,
    },
    /// An entity could not be turned into an item.
    #[error("entity could not be marshalled")]
    Marshal(#[source] serde_dynamo::Error),
    /// DynamoDB kept returning unprocessed items after every retry.
    #[error("{count} items were still unprocessed after {attempts} attempts")]
    Unprocessed {
        /// How many.
        count: usize,
        /// How many attempts were made.
        attempts: u32,
    },
    /// A query's last evaluated key held a value that is not a string (every key of the
    /// table is a string).
    #[error("last evaluated key attribute {0} is not a string")]
    NonStringKey(String),
    /// A sealed secret's ciphertext is not base64.
    #[error("sealed secret is not base64")]
    CiphertextEncoding(#[source] base64::DecodeError),
    /// KMS answered without a field it always sends.
    #[error("KMS answered without {0}")]
    KmsAnswer(&'static str),
    /// A secret unsealed to bytes that are not UTF-8.
    #[error("unsealed secret is not UTF-8")]
    PlaintextEncoding,
    /// A job message could not be encoded.
    #[error("job message could not be encoded")]
    Message(#[source] serde_json::Error),
}

impl From<AwsError> for DomainError {
    fn from(e: AwsError) -> Self {
        match e {
            AwsError::CiphertextEncoding(_)
            | AwsError::KmsAnswer(_)
            | AwsError::PlaintextEncoding => DomainError::Crypto(Box::new(e)),
            AwsError::Message(_) => DomainError::Queue(Box::new(e)),
            _ => DomainError::Store(Box::new(e)),
        }
    }
}

/// A storage failure, its source boxed.
pub(crate) fn store<E>(e: E) -> DomainError
where
    E: std::error::Error + Send + Sync + 'static,
{
    DomainError::Store(Box::new(e))
}

/// True when a DynamoDB request failed on its condition expression (the one failure that
/// is a domain answer rather than a storage fault).
pub(crate) fn is_condition_failure<E, R>(e: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

/// A 400 naming one field.
pub(crate) fn invalid(field: &str, message: &str) -> DomainError {
    let mut v = ValidationErrors::default();
    v.add(field, message);
    DomainError::Validation(v)
}
