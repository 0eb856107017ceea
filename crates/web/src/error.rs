//! Why a console request failed, and the page that says so.

use crate::i18n::{Key, Lang};
use crate::page::{render, Page};
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use watchpost_store::StoreError;

/// Why a console request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// The user's role does not allow it.
    #[error("forbidden")]
    Forbidden,
    /// No such page, or a warning the user may not see (they are told the same).
    #[error("not found")]
    NotFound,
    /// A POST without the session's CSRF token.
    #[error("missing or wrong CSRF token")]
    Csrf,
    /// The request cannot be carried out as sent.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A template failed to render.
    #[error("template: {0}")]
    Template(#[from] askama::Error),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Page,
    message: &'static str,
    detail: String,
}

impl WebError {
    fn status_and_text(&self) -> (StatusCode, Key) {
        match self {
            WebError::Forbidden => (StatusCode::FORBIDDEN, Key::ErrorForbidden),
            WebError::NotFound => (StatusCode::NOT_FOUND, Key::ErrorNotFound),
            WebError::Csrf => (StatusCode::FORBIDDEN, Key::ErrorCsrf),
            WebError::Invalid(_) | WebError::Store(StoreError::Invalid(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, Key::ErrorInvalid)
            }
            WebError::Store(StoreError::NotFound(_)) => (StatusCode::NOT_FOUND, Key::ErrorNotFound),
            WebError::Store(_) | WebError::Template(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, Key::ErrorServer)
            }
        }
    }

    /// The error page in `lang`. A 4xx says what was wrong; a 5xx says little and leaves the
    /// detail to the log.
    pub fn page(self, lang: Lang) -> Response {
        let (status, key) = self.status_and_text();
        let detail = match &self {
            WebError::Invalid(why) => why.clone(),
            WebError::Store(StoreError::Invalid(why)) => why.clone(),
            _ => String::new(),
        };
        if status.is_server_error() {
            tracing::error!(message = "A console request failed.", error = %self);
        }
        let page = ErrorPage {
            page: Page::bare(lang, Key::ErrorTitle),
            message: lang.t(key),
            detail,
        };
        match render(&page) {
            Ok(body) => (status, body).into_response(),
            Err(_) => (status, lang.t(key)).into_response(),
        }
    }
}

/// A handler's result as a response: the page, or the error page in the user's language.
pub fn respond(lang: Lang, result: Result<Response, WebError>) -> Response {
    result.unwrap_or_else(|e| e.page(lang))
}
