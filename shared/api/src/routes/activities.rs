//! Activities and records: send an email (Pending Send), read and list tracked email;
//! appointments, contacts and tasks (create, get, update, delete, list by owner); email-
//! enabled records (create, list by kind).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use exsync_domain::activity::{Appointment, ContactActivity, EmailActivity, TaskActivity};
use exsync_domain::ids::{ActivityId, MailboxId, Principal, RecordId};
use exsync_domain::record::{EmailEnabledRecord, RecordKind};
use exsync_domain::service::{
    AppointmentInput, ContactInput, EmailInput, EmailQuery, PageRequest, RecordInput, TaskInput,
};
use serde::Deserialize;

use super::{PageBody, Routes, path_id};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::{AppState, Caller};

pub(crate) fn routes(r: Routes) -> Routes {
    let r = r
        .add(Method::POST, "/emails", send_email)
        .add(Method::GET, "/emails", list_emails)
        .add(Method::GET, "/emails/{id}", get_email)
        .add(Method::POST, "/records", create_record)
        .add(Method::GET, "/records", list_records);
    let r = appointments::routes(r);
    let r = contacts::routes(r);
    tasks::routes(r)
}

fn id(raw: &str) -> Result<ActivityId, ApiError> {
    path_id(raw, ActivityId::parse, "id")
}

/// 201: the email is stored Pending Send; the sync engine sends it from the sender mailbox.
async fn send_email(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<EmailInput>,
) -> Result<(StatusCode, Json<EmailActivity>), ApiError> {
    let email = s.admin().send_email(&caller.grants, input).await?;
    Ok((StatusCode::CREATED, Json(email)))
}

async fn get_email(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<EmailActivity>, ApiError> {
    Ok(Json(s.admin().get_email(&caller.grants, &id(&raw)?).await?))
}

/// Exactly one of `mailbox` and `regarding`, and paging.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailsQuery {
    mailbox: Option<String>,
    regarding: Option<String>,
    limit: Option<i64>,
    next: Option<String>,
}

async fn list_emails(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EmailsQuery>,
) -> Result<Json<PageBody<EmailActivity>>, ApiError> {
    let query = match (&q.mailbox, &q.regarding) {
        (Some(m), None) => EmailQuery::Mailbox(path_id(m, MailboxId::parse, "mailbox")?),
        (None, Some(r)) => EmailQuery::Regarding(path_id(r, RecordId::parse, "regarding")?),
        _ => {
            return Err(ApiError::field(
                "mailbox",
                "name exactly one of mailbox or regarding",
            ));
        }
    };
    let page = PageRequest {
        limit: q.limit,
        next: q.next,
    };
    let found = s.admin().list_emails(&caller.grants, &query, &page).await?;
    Ok(Json(found.into()))
}

async fn create_record(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<RecordInput>,
) -> Result<(StatusCode, Json<EmailEnabledRecord>), ApiError> {
    let record = s.admin().create_record(&caller.grants, input).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// `kind` is required; paging is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordsQuery {
    kind: Option<RecordKind>,
    limit: Option<i64>,
    next: Option<String>,
}

async fn list_records(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<RecordsQuery>,
) -> Result<Json<PageBody<EmailEnabledRecord>>, ApiError> {
    let Some(kind) = q.kind else {
        return Err(ApiError::field(
            "kind",
            "is required (user, queue, contact, account or lead)",
        ));
    };
    let page = PageRequest {
        limit: q.limit,
        next: q.next,
    };
    let found = s.admin().list_records(&caller.grants, kind, &page).await?;
    Ok(Json(found.into()))
}

/// `?owner=`: whose items (default: the caller's own).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnerQuery {
    owner: Option<String>,
}

impl OwnerQuery {
    fn owner(&self) -> Result<Option<Principal>, ApiError> {
        self.owner
            .as_deref()
            .map(|o| {
                Principal::parse(o)
                    .ok_or_else(|| ApiError::field("owner", "is not a principal name"))
            })
            .transpose()
    }
}

/// The five routes of an owner-scoped activity kind, each calling the domain's method of
/// the same name.
macro_rules! owned_activity_routes {
    ($module:ident, $path:literal, $item:literal, $ty:ty, $input:ty,
     $create:ident, $get:ident, $update:ident, $delete:ident, $list:ident) => {
        mod $module {
            use super::*;

            pub(super) fn routes(r: Routes) -> Routes {
                r.add(Method::POST, $path, create)
                    .add(Method::GET, $path, list)
                    .add(Method::GET, $item, get)
                    .add(Method::PATCH, $item, update)
                    .add(Method::DELETE, $item, delete)
            }

            async fn create(
                State(s): State<AppState>,
                caller: Caller,
                ApiJson(input): ApiJson<$input>,
            ) -> Result<(StatusCode, Json<$ty>), ApiError> {
                let item = s.admin().$create(&caller.grants, input).await?;
                Ok((StatusCode::CREATED, Json(item)))
            }

            async fn list(
                State(s): State<AppState>,
                caller: Caller,
                ApiQuery(q): ApiQuery<OwnerQuery>,
            ) -> Result<Json<PageBody<$ty>>, ApiError> {
                let owner = q.owner()?;
                let items = s.admin().$list(&caller.grants, owner.as_ref()).await?;
                Ok(Json(PageBody { items, next: None }))
            }

            async fn get(
                State(s): State<AppState>,
                caller: Caller,
                Path(raw): Path<String>,
            ) -> Result<Json<$ty>, ApiError> {
                Ok(Json(s.admin().$get(&caller.grants, &id(&raw)?).await?))
            }

            async fn update(
                State(s): State<AppState>,
                caller: Caller,
                Path(raw): Path<String>,
                ApiJson(input): ApiJson<$input>,
            ) -> Result<Json<$ty>, ApiError> {
                let item = s.admin().$update(&caller.grants, &id(&raw)?, input).await?;
                Ok(Json(item))
            }

            async fn delete(
                State(s): State<AppState>,
                caller: Caller,
                Path(raw): Path<String>,
            ) -> Result<StatusCode, ApiError> {
                s.admin().$delete(&caller.grants, &id(&raw)?).await?;
                Ok(StatusCode::NO_CONTENT)
            }
        }
    };
}

owned_activity_routes!(
    appointments,
    "/appointments",
    "/appointments/{id}",
    Appointment,
    AppointmentInput,
    create_appointment,
    get_appointment,
    update_appointment,
    delete_appointment,
    list_appointments
);

owned_activity_routes!(
    contacts,
    "/contacts",
    "/contacts/{id}",
    ContactActivity,
    ContactInput,
    create_contact,
    get_contact,
    update_contact,
    delete_contact,
    list_contacts
);

owned_activity_routes!(
    tasks,
    "/tasks",
    "/tasks/{id}",
    TaskActivity,
    TaskInput,
    create_task,
    get_task,
    update_task,
    delete_task,
    list_tasks
);
