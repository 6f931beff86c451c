//! `/v1/events`: every change as a Server-Sent Event, until the daemon stops.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use super::AppState;

/// Streams `change` events (`{"document","at","by","action","id","summary"}`).
pub async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state
        .repo
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .subscribe();
    let mut stopping = state.stopping.clone();
    let events = BroadcastStream::new(receiver)
        .filter_map(|item| async move {
            match item {
                Ok(change) => Event::default()
                    .event("change")
                    .json_data(&change)
                    .ok()
                    .map(Ok),
                // A reader that fell behind is told so and can re-read the lists.
                Err(_lagged) => Some(Ok(Event::default()
                    .event("lagged")
                    .data("some changes were skipped"))),
            }
        })
        .take_until(async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        });
    Sse::new(events).keep_alive(KeepAlive::default())
}
