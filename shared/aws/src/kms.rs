//! [`SecretSealer`] on KMS: passwords are sealed with `Encrypt` directly (they are far
//! below KMS's 4 KB plaintext limit, so envelope encryption would only add a data key to
//! manage) and bound to their entity through the encryption context.

use crate::error::AwsError;
use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use exsync_domain::DomainError;
use exsync_domain::ports::SecretSealer;
use exsync_domain::profile::SealedSecret;

/// The encryption context key. KMS refuses to decrypt unless the same context is given,
/// so a password sealed for one profile or mailbox cannot be unsealed as another's.
pub const CONTEXT_KEY: &str = "exsync:entity";

/// Seals and unseals secrets with one KMS key.
#[derive(Clone)]
pub struct KmsSealer {
    client: Client,
    key_id: String,
}

impl std::fmt::Debug for KmsSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsSealer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl KmsSealer {
    /// A sealer using `key_id` (id, ARN or alias) through `client`.
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }

    /// A sealer with a client built from the SDK configuration.
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, key_id: impl Into<String>) -> Self {
        Self::new(Client::new(sdk), key_id)
    }
}

fn crypto(e: impl std::error::Error + Send + Sync + 'static) -> DomainError {
    DomainError::Crypto(Box::new(e))
}

#[async_trait]
impl SecretSealer for KmsSealer {
    #[tracing::instrument(skip(self, plaintext), fields(key_id = %self.key_id, context = %context))]
    async fn seal(&self, plaintext: &str, context: &str) -> Result<SealedSecret, DomainError> {
        let out = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(plaintext.as_bytes()))
            .encryption_context(CONTEXT_KEY, context)
            .send()
            .await
            .map_err(|e| crypto(aws_sdk_kms::Error::from(e)))?;
        let blob = out
            .ciphertext_blob
            .ok_or(AwsError::KmsAnswer("CiphertextBlob"))?;
        Ok(SealedSecret {
            // The ARN KMS answers with, so unsealing never depends on an alias.
            key_id: out.key_id.unwrap_or_else(|| self.key_id.clone()),
            ciphertext_b64: STANDARD.encode(blob.as_ref()),
        })
    }

    #[tracing::instrument(skip(self, sealed), fields(key_id = %sealed.key_id, context = %context))]
    async fn unseal(&self, sealed: &SealedSecret, context: &str) -> Result<String, DomainError> {
        let blob = STANDARD
            .decode(sealed.ciphertext_b64.trim())
            .map_err(AwsError::CiphertextEncoding)?;
        let out = self
            .client
            .decrypt()
            .key_id(&sealed.key_id)
            .ciphertext_blob(Blob::new(blob))
            .encryption_context(CONTEXT_KEY, context)
            .send()
            .await
            .map_err(|e| crypto(aws_sdk_kms::Error::from(e)))?;
        let plain = out.plaintext.ok_or(AwsError::KmsAnswer("Plaintext"))?;
        String::from_utf8(plain.into_inner()).map_err(|_| AwsError::PlaintextEncoding.into())
    }
}
