//! The console's one asset, its stylesheet, compiled into the binary: nothing is fetched from
//! anywhere else, so the console works on an office network with no internet at all.

use axum::http::header;
use axum::response::IntoResponse;

/// The stylesheet (`hub/templates/console/console.css`).
const STYLESHEET: &str = include_str!("../../templates/console/console.css");

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}
