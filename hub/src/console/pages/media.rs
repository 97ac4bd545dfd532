//! An attachment's bytes for the submission page (a photo's thumbnail, an audio or video
//! player's source, a file to download), streamed chunk by chunk from the hub's storage to a
//! user who supervises the project. Only a content the hub holds whole is served; it is typed
//! as the image, audio or video the page names only from a short list of types a browser shows
//! without running anything (no SVG, no HTML): any other is a download.

use super::not_found;
use super::ProjectPage;
use crate::server::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::channel::Channel;
use minga_sync::attachments::chunk_count;
use minga_sync::ContentHash;
use serde::Deserialize;

/// Media types served as themselves, for `<img>`, `<audio>` and `<video>`.
const SHOWN_TYPES: [&str; 12] = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "audio/mpeg",
    "audio/mp4",
    "audio/aac",
    "audio/ogg",
    "audio/wav",
    "audio/webm",
    "video/mp4",
    "video/webm",
];

/// How a page shows a content of `media_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Image,
    Audio,
    Video,
    Download,
}

impl Shown {
    pub fn of(media_type: &str) -> Shown {
        let media_type = media_type.to_ascii_lowercase();
        if !SHOWN_TYPES.contains(&media_type.as_str()) {
            return Shown::Download;
        }
        match media_type.split('/').next() {
            Some("image") => Shown::Image,
            Some("audio") => Shown::Audio,
            _ => Shown::Video,
        }
    }
}

/// The URL the page links for content `hash` of `project`, typed `media_type`.
pub fn url(project: &str, hash: &str, media_type: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(media_type.as_bytes()).collect();
    format!("/console/p/{project}/media/{hash}?type={encoded}")
}

#[derive(Debug, Deserialize)]
pub struct MediaQuery {
    #[serde(rename = "type", default)]
    media_type: String,
}

/// `GET /console/p/{project}/media/{hash}?type=…`: the content, streamed. Cost: one chunk
/// (256 KiB) read at a time, two in flight.
pub async fn content(
    State(state): State<AppState>,
    ProjectPage {
        signed: _,
        project,
        lang,
    }: ProjectPage,
    Path((_, hash)): Path<(String, String)>,
    Query(query): Query<MediaQuery>,
) -> Response {
    let Ok(hash) = ContentHash::from_hex(&hash) else {
        return not_found(lang);
    };
    let (name, hex) = (project.clone(), hash.to_hex());
    let row = state
        .blocking(move |storage| storage.attachment(&name, &hex))
        .await;
    let size = match row {
        Ok(Some(row)) if row.complete => row.size,
        Ok(_) => return not_found(lang),
        Err(error) => return error.into_response(),
    };
    let (mut sender, body) = Channel::<Bytes, std::io::Error>::new(2);
    tokio::spawn(async move {
        for index in 0..chunk_count(size) {
            let (name, hex) = (project.clone(), hash.to_hex());
            let chunk = state
                .blocking(move |storage| storage.attachment_chunk(&name, &hex, index))
                .await;
            let Ok(Some(bytes)) = chunk else {
                let why = format!("chunk {index} of {} could not be read", hash.to_hex());
                return sender.abort(std::io::Error::other(why));
            };
            if sender.send_data(Bytes::from(bytes)).await.is_err() {
                return; // the browser went away
            }
        }
    });
    let mut response = (StatusCode::OK, Body::new(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    match Shown::of(&query.media_type) {
        Shown::Download => {
            let octets = HeaderValue::from_static("application/octet-stream");
            headers.insert(header::CONTENT_TYPE, octets);
            let attachment = HeaderValue::from_static("attachment");
            headers.insert(header::CONTENT_DISPOSITION, attachment);
        }
        _ => {
            let shown = HeaderValue::from_str(&query.media_type.to_ascii_lowercase());
            if let Ok(value) = shown {
                headers.insert(header::CONTENT_TYPE, value);
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_types_are_shown_and_svg_or_html_is_a_download() {
        assert_eq!(Shown::of("image/jpeg"), Shown::Image);
        assert_eq!(Shown::of("IMAGE/PNG"), Shown::Image);
        assert_eq!(Shown::of("audio/mp4"), Shown::Audio);
        assert_eq!(Shown::of("video/mp4"), Shown::Video);
        for risky in ["image/svg+xml", "text/html", "application/pdf", ""] {
            assert_eq!(Shown::of(risky), Shown::Download, "{risky}");
        }
    }

    #[test]
    fn the_url_carries_the_type_encoded() {
        assert_eq!(
            url("imbabura", "ab12", "image/jpeg"),
            "/console/p/imbabura/media/ab12?type=image%2Fjpeg"
        );
    }
}
