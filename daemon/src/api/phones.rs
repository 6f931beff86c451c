//! `/v1/phones`: letting phones in over the home network (laptop only).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use tandem_protocol::api::{NewPhone, PhoneAdded, PhonePath, PhoneView, paths};
use utoipa_axum::routes;

use super::error::{Body, Segment};
use super::openapi::{BadBody, BadParams, Conflict, Guarded, Missing};
use super::{ApiError, AppState, Routes, blocking};
use crate::phones::PhoneError;

/// How long adding a phone waits for the HTTPS listener to come up.
const LISTENER_WAIT: Duration = Duration::from_secs(5);

/// The routes (laptop only).
pub fn routes() -> Routes {
    Routes::default()
        .routes(routes!(list_phones, add_phone))
        .routes(routes!(revoke_phone))
}

impl From<PhoneError> for ApiError {
    fn from(e: PhoneError) -> Self {
        let (status, code) = match e {
            PhoneError::BadName(invalid) => return invalid.into(),
            PhoneError::Taken(_) => (StatusCode::CONFLICT, "taken"),
            PhoneError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            PhoneError::Home(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// Phones allowed in over the home network.
#[utoipa::path(get, path = paths::PHONES, tag = "phones",
    responses((status = 200, body = Vec<PhoneView>), Guarded))]
async fn list_phones(State(state): State<AppState>) -> Json<Vec<PhoneView>> {
    Json(state.phones.list())
}

/// Adds a phone, starts the HTTPS listener if it is the first, and answers with the
/// addresses to open on the phone and its token, shown this once.
#[utoipa::path(post, path = paths::PHONES, tag = "phones", request_body = NewPhone,
    responses((status = 201, body = PhoneAdded), BadBody, Conflict, Guarded))]
async fn add_phone(
    State(state): State<AppState>,
    Body(new): Body<NewPhone>,
) -> Result<impl IntoResponse, ApiError> {
    let phones = state.phones.clone();
    let (phone, tokens) = blocking(move || phones.add(&new.name)).await?;
    let mut bound = state.lan.clone();
    let addr = tokio::time::timeout(LISTENER_WAIT, bound.wait_for(Option::is_some))
        .await
        .ok()
        .and_then(|r| r.ok().and_then(|a| *a))
        .ok_or_else(|| {
            ApiError::internal("the phone listener did not start; see the daemon's log")
        })?;
    // The mDNS name first: it survives DHCP handing the laptop another address, so
    // bookmarks and the home-screen icon keep working. It resolves only while mDNS runs.
    let mut hosts: Vec<String> = state
        .discovery
        .as_ref()
        .map(|_| format!("{}:{}", state.hub.identity.host_name, addr.port()))
        .into_iter()
        .collect();
    hosts.extend(
        crate::listen::reachable_addrs(addr)
            .iter()
            .map(ToString::to_string),
    );
    let urls = hosts
        .iter()
        .map(|host| format!("https://{host}/#token={}", tokens.phone))
        .collect();
    let calendar_url = format!(
        "https://{}/v1/calendar.ics?token={}",
        hosts[0], tokens.calendar
    );
    let fingerprint = state.hub.identity.device_id.colon_hex();
    // The token is shown this once: no copy is kept, not even for a retry's answer.
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(PhoneAdded {
            phone,
            token: tokens.phone,
            urls,
            calendar_url,
            fingerprint,
        }),
    ))
}

/// Revokes a phone (by id prefix or name): its tokens stop working at once.
#[utoipa::path(delete, path = paths::PHONE, tag = "phones", params(PhonePath),
    responses((status = 200, body = PhoneView), BadParams, Missing, Guarded))]
async fn revoke_phone(
    State(state): State<AppState>,
    Segment(PhonePath { id }): Segment<PhonePath>,
) -> Result<Json<PhoneView>, ApiError> {
    let phones = state.phones.clone();
    blocking(move || phones.revoke(&id)).await.map(Json)
}
