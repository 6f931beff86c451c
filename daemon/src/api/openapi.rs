//! `/v1/openapi.json`: the API described for other clients.

use axum::Json;

/// Serves the OpenAPI document.
pub async fn serve() -> Json<serde_json::Value> {
    Json(serde_json::json!({}))
}
