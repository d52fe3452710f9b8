//! URL-encoded form bodies, with repeated fields (capability checkboxes) kept.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use guildgate_core::capability::CapabilitySet;
use guildgate_core::error::ApiError;

use crate::error::PageError;

/// The form's fields in order; a checkbox group repeats its name.
pub struct FormData(Vec<(String, String)>);

impl FormData {
    /// NUL characters are dropped: no person types one, and PostgreSQL cannot store one.
    pub fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.replace('\0', ""), v.replace('\0', "")))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The ticked `capabilities` boxes; ticking none is refused with `none_ticked`.
    pub fn capabilities(&self, none_ticked: &str) -> Result<CapabilitySet, ApiError> {
        let list = self.all("capabilities").collect::<Vec<_>>().join(",");
        let capabilities = CapabilitySet::parse_list("capabilities", &list)?;
        if capabilities == CapabilitySet::EMPTY {
            return Err(ApiError::validation("capabilities", none_ticked));
        }
        Ok(capabilities)
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(PageError::bad_request(
                "This page takes a submitted form (application/x-www-form-urlencoded).",
            ));
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| PageError::bad_request("The form could not be read."))?;
        Ok(Self::parse(&body))
    }
}
