//! [`AccessStore`] (roles and principals) and idempotency keys.

use super::{DynamoStore, item, number};
use crate::error::{is_condition_failure, store};
use crate::keys;
use async_trait::async_trait;
use exsync_domain::DomainError;
use exsync_domain::ids::Principal;
use exsync_domain::ports::AccessStore;
use exsync_domain::privilege::Role;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A principal's role assignment.
#[derive(Debug, Serialize, Deserialize)]
struct PrincipalRoles {
    principal: Principal,
    roles: Vec<String>,
}

/// An idempotency key as stored.
#[derive(Debug, Serialize, Deserialize)]
struct IdempotencyEntry {
    key: String,
}

/// What claiming an idempotency key found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdempotencyOutcome {
    /// The key was new: the caller does the work.
    First,
    /// The key was already claimed (and has not expired): the work was done or is being
    /// done; the caller must not repeat it.
    Repeat,
}

#[async_trait]
impl AccessStore for DynamoStore {
    async fn roles_of(&self, p: &Principal) -> Result<Vec<String>, DomainError> {
        let entry: Option<PrincipalRoles> = self.get(&keys::principal_roles(p)).await?;
        Ok(entry.map(|e| e.roles).unwrap_or_default())
    }

    #[tracing::instrument(skip(self), fields(table = %self.table))]
    async fn set_roles(&self, p: &Principal, roles: &[String]) -> Result<(), DomainError> {
        let entry = PrincipalRoles {
            principal: p.clone(),
            roles: roles.to_vec(),
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(&entry, &keys::principal_roles(p), &[])?))
            .send()
            .await
            .map_err(|e| store(aws_sdk_dynamodb::Error::from(e)))?;
        Ok(())
    }

    async fn get_role(&self, name: &str) -> Result<Option<Role>, DomainError> {
        self.get(&keys::role(name)).await
    }

    #[tracing::instrument(skip(self, r), fields(table = %self.table, role = %r.name))]
    async fn put_role(&self, r: &Role) -> Result<(), DomainError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(r, &keys::role(&r.name), &[])?))
            .send()
            .await
            .map_err(|e| store(aws_sdk_dynamodb::Error::from(e)))?;
        Ok(())
    }
}

impl DynamoStore {
    /// Claims an idempotency key until `expires_at` (create-if-absent): exactly one of
    /// several callers with the same key gets [`IdempotencyOutcome::First`].
    pub async fn claim_idempotency_key(
        &self,
        key: &str,
        expires_at: OffsetDateTime,
    ) -> Result<IdempotencyOutcome, DomainError> {
        let entry = IdempotencyEntry {
            key: key.to_owned(),
        };
        let mut it = item(&entry, &keys::idempotency(key), &[])?;
        it.insert(keys::TTL.to_owned(), number(expires_at.unix_timestamp()));
        // An expired key that TTL has not removed yet counts as free.
        let r = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(it))
            .condition_expression("attribute_not_exists(#pk) OR #ttl < :now")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#ttl", keys::TTL)
            .expression_attribute_values(":now", number(self.clock.now().unix_timestamp()))
            .send()
            .await;
        match r {
            Ok(_) => Ok(IdempotencyOutcome::First),
            Err(e) if is_condition_failure(&e) => Ok(IdempotencyOutcome::Repeat),
            Err(e) => Err(store(aws_sdk_dynamodb::Error::from(e))),
        }
    }
}
