//! `/v1/events`: every change (`change`) and every reminder that becomes due (`reminder`)
//! as Server-Sent Events, until the daemon stops.

use std::convert::Infallible;

use axum::Extension;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt, stream};
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

use tandem_protocol::api::TokenQuery;
use utoipa_axum::routes;

use super::openapi::Guarded;
use super::{AppState, Caller, Routes};

/// The route.
pub fn routes() -> Routes {
    Routes::default().routes(routes!(events))
}

/// One broadcast channel as a stream of named SSE events. A reader that fell behind gets a
/// `lagged` event and can re-read the lists.
fn named<T: Serialize + Clone + Send + 'static>(
    name: &'static str,
    receiver: broadcast::Receiver<T>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    BroadcastStream::new(receiver).filter_map(move |item| async move {
        match item {
            Ok(value) => Event::default().event(name).json_data(&value).ok().map(Ok),
            Err(_lagged) => Some(Ok(Event::default()
                .event("lagged")
                .data("some events were skipped"))),
        }
    })
}

/// Server-Sent Events until the daemon stops or, for a phone, until the phone is revoked:
/// `change` (data: `{"document","at","by","action","id","summary"}`, as in the log),
/// `reminder` (data: `{"kind","message","id","due_at"}`) and `lagged` (some events were
/// skipped: read the lists again). EventSource cannot send headers, so the token may be
/// given as `?token=`.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    params(TokenQuery),
    responses(
        (status = 200, description = "an endless event stream", content_type = "text/event-stream", body = String),
        Guarded,
    )
)]
async fn events(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let changes = state.writer.subscribe();
    let mut stopping = state.stopping.clone();
    let (phones, mut phones_changed) = (state.phones.clone(), state.phones.changed());
    let revoked = async move {
        let Caller::Phone(id) = caller else {
            return std::future::pending().await;
        };
        while phones_changed.changed().await.is_ok() {
            if !phones.contains(&id) {
                return;
            }
        }
    };
    let events = stream::select(
        named("change", changes),
        named("reminder", state.reminders.subscribe()),
    )
    .take_until(async move {
        tokio::select! {
            _ = stopping.wait_for(|stop| *stop) => {}
            () = revoked => {}
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}
