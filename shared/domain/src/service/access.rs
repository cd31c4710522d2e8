//! Who the caller is allowed to be: grants from roles, built-in roles, role assignment.

use super::{Admin, field_error};
use crate::error::DomainError;
use crate::ids::Principal;
use crate::privilege::{
    Grants, Privilege, Role, authorize, authorize_or_owner, builtin_roles, grants_from_roles,
};
use crate::validation::ValidationErrors;

impl Admin {
    /// The grants of `principal`: every privilege for the bootstrap administrator, else the
    /// union of its roles' privileges (stored roles; a built-in role not stored yet counts
    /// as its built-in definition). An anonymous caller holds nothing.
    pub async fn grants_for(&self, principal: Option<&Principal>) -> Result<Grants, DomainError> {
        let Some(principal) = principal else {
            return Ok(Grants::default());
        };
        if self.options.bootstrap_admin.as_ref() == Some(principal) {
            return Ok(Grants::all(Some(principal.clone())));
        }
        let names = self.ports.access.roles_of(principal).await?;
        let mut roles = Vec::with_capacity(names.len());
        for name in &names {
            if let Some(role) = self.role(name).await? {
                roles.push(role);
            }
        }
        Ok(grants_from_roles(Some(principal.clone()), &roles))
    }

    async fn role(&self, name: &str) -> Result<Option<Role>, DomainError> {
        if let Some(role) = self.ports.access.get_role(name).await? {
            return Ok(Some(role));
        }
        Ok(builtin_roles().into_iter().find(|r| r.name == name))
    }

    /// Writes the built-in roles to the store (at init and first start; idempotent).
    pub async fn seed_builtin_roles(&self) -> Result<(), DomainError> {
        for role in builtin_roles() {
            self.ports.access.put_role(&role).await?;
        }
        tracing::info!(roles = builtin_roles().len(), "built-in roles seeded");
        Ok(())
    }

    /// The role definitions exsync ships.
    pub fn builtin_roles(&self) -> Vec<Role> {
        builtin_roles()
    }

    /// Replaces the roles of `principal` (needs manage_roles); every role must exist.
    pub async fn set_roles(
        &self,
        grants: &Grants,
        principal: &Principal,
        roles: &[String],
    ) -> Result<Vec<String>, DomainError> {
        authorize(grants, Privilege::ManageRoles)?;
        let mut errs = ValidationErrors::default();
        let mut names: Vec<String> = Vec::with_capacity(roles.len());
        for (i, name) in roles.iter().enumerate() {
            let name = name.trim();
            if self.role(name).await?.is_none() {
                errs.add(format!("roles.{i}"), "is not a known role");
            } else if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        errs.into_result()?;
        self.ports.access.set_roles(principal, &names).await?;
        tracing::info!(principal = %principal, roles = ?names, "roles assigned");
        Ok(names)
    }

    /// The roles of `principal` (manage_roles, or the principal itself).
    pub async fn roles_of(
        &self,
        grants: &Grants,
        principal: &Principal,
    ) -> Result<Vec<String>, DomainError> {
        authorize_or_owner(grants, Privilege::ManageRoles, [principal])?;
        self.ports.access.roles_of(principal).await
    }

    /// Creates or replaces a custom role (needs manage_roles). Built-in names cannot be
    /// redefined, so their documented meaning holds.
    pub async fn put_role(&self, grants: &Grants, role: &Role) -> Result<(), DomainError> {
        authorize(grants, Privilege::ManageRoles)?;
        let name = role.name.trim();
        if name.is_empty() || name.len() > 64 || name.contains('#') {
            return Err(field_error(
                "name",
                "must be 1 to 64 characters without '#'",
            ));
        }
        if builtin_roles().iter().any(|r| r.name == name) {
            return Err(field_error(
                "name",
                "is a built-in role and cannot be redefined",
            ));
        }
        self.ports
            .access
            .put_role(&Role {
                name: name.to_owned(),
                privileges: role.privileges.clone(),
            })
            .await
    }
}
