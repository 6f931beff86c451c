//! `/v1/calendar.ics`: plans and personal-time blocks for a phone calendar to subscribe to.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use tandem_protocol::model::plan::Plan;

use super::{ApiError, AppState};

/// The calendar, built fresh on each fetch (calendar apps poll it).
pub async fn feed(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let (plans, blocks, people) = state
        .with_repo(|repo| Ok((repo.list::<Plan>()?, repo.personal_time()?, repo.people()?)))
        .await?;
    let text = tandem_protocol::ics::calendar(&plans, &blocks, &people, jiff::Timestamp::now());
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    ))
}
