//! The dashboard's error: a page a person reads (the JSON routes use the guild envelope).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use guildgate_core::error::ApiError;
use guildgate_owner::OwnerError;
use guildgate_storage::StoreError;

use crate::view;

#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended): go to the sign-in page, then come back.
    SignIn { next: String },
    Page {
        status: StatusCode,
        title: &'static str,
        message: String,
    },
}

impl PageError {
    pub fn bad_request(message: &str) -> Self {
        Self::Page {
            status: StatusCode::BAD_REQUEST,
            title: "That request could not be read",
            message: message.to_owned(),
        }
    }

    pub fn not_found() -> Self {
        Self::Page {
            status: StatusCode::NOT_FOUND,
            title: "Not found",
            message: "There is nothing here, or it belongs to a guild you do not own.".to_owned(),
        }
    }

    pub fn forbidden(message: &str) -> Self {
        Self::Page {
            status: StatusCode::FORBIDDEN,
            title: "Refused",
            message: message.to_owned(),
        }
    }
}

impl From<ApiError> for PageError {
    fn from(err: ApiError) -> Self {
        Self::Page {
            status: StatusCode::from_u16(err.code.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            title: "That did not work",
            message: err.message,
        }
    }
}

impl From<StoreError> for PageError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                Self::Page {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    title: "Busy",
                    message: "The database is busy. Try again in a moment.".to_owned(),
                }
            }
            other => {
                tracing::error!(cause = %other, "storage failure in the dashboard");
                Self::Page {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    title: "Something went wrong",
                    message: "An internal error occurred; nothing was changed. Try again."
                        .to_owned(),
                }
            }
        }
    }
}

impl From<OwnerError> for PageError {
    fn from(err: OwnerError) -> Self {
        match err {
            OwnerError::Api(e) => e.into(),
            OwnerError::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn { next } => {
                let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                Redirect::to(&format!("/dashboard/login?next={next}")).into_response()
            }
            PageError::Page {
                status,
                title,
                message,
            } => (status, view::message_page(title, &message)).into_response(),
        }
    }
}
