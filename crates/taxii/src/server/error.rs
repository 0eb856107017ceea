//! TAXII error resources (specification §3.6.1): every failure a client can cause is answered
//! with one, with the HTTP status and a description that says what to change.

use crate::media::TAXII;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use watchpost_store::StoreError;

/// A failed request, answered as a TAXII error resource.
#[derive(Debug)]
pub struct TaxiiError {
    status: StatusCode,
    description: String,
}

impl TaxiiError {
    /// An error with this HTTP status and description.
    pub fn new(status: StatusCode, description: impl Into<String>) -> Self {
        TaxiiError {
            status,
            description: description.into(),
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, description)
    }

    /// 404: no such resource, or none this caller may see.
    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, description)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad request",
        401 => "Authentication required",
        403 => "Permission denied",
        404 => "Not found",
        405 => "Method not allowed",
        406 => "Not acceptable",
        413 => "Request too large",
        415 => "Unsupported media type",
        _ => "Internal server error",
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let body = json!({
            "title": title(self.status),
            "description": self.description,
            "http_status": self.status.as_str(),
        });
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"watchpost\", Bearer realm=\"watchpost\""),
            );
        }
        response
    }
}

impl From<StoreError> for TaxiiError {
    fn from(e: StoreError) -> Self {
        let status = match &e {
            StoreError::NotFound(_) => StatusCode::NOT_FOUND,
            StoreError::Forbidden(_) => StatusCode::FORBIDDEN,
            StoreError::Invalid(_) => StatusCode::BAD_REQUEST,
            StoreError::Conflict(_) => StatusCode::CONFLICT,
            _ => {
                tracing::error!("store failure: {e}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        TaxiiError::new(status, e.to_string())
    }
}
