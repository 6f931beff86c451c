//! `/v1/calendar.ics`: plans and personal-time blocks for a phone calendar to subscribe to.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use tandem_protocol::api::TokenQuery;
use tandem_protocol::model::plan::Plan;
use utoipa_axum::routes;

use super::openapi::{Guarded, Stopping};
use super::{ApiError, AppState, Routes};

/// The route.
pub fn routes() -> Routes {
    Routes::default().routes(routes!(calendar))
}

/// Plans and personal-time blocks as iCalendar, for calendar apps to subscribe to. Such
/// apps cannot send headers, so the token (a phone's calendar token opens this route
/// alone) may be given as `?token=`. Built fresh on each fetch: calendar apps poll it.
#[utoipa::path(
    get,
    path = "/v1/calendar.ics",
    tag = "calendar",
    params(TokenQuery),
    responses(
        (status = 200, description = "the calendar", content_type = "text/calendar", body = String),
        Guarded,
        Stopping,
    )
)]
async fn calendar(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let (plans, blocks, people) = state
        .with_repo(|repo| Ok((repo.list::<Plan>()?, repo.personal_time()?, repo.people()?)))
        .await?;
    let text = tandem_protocol::ics::calendar(&plans, &blocks, &people, crate::clock::now());
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    ))
}
