//! Settings → API Keys: the signed-in user's `arca_` keys for the tasks API. The account
//! is linked to the tasks user with the same email (`admin user create --email`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use guildgate_core::ids::is_ulid;
use guildgate_core::tasks::{Scope, ScopeSet, TaskUser};
use guildgate_owner::{Expiry, OwnerError, mint_tasks_key, revoke_tasks_key};
use maud::{Markup, html};
use serde::Deserialize;

use crate::error::PageError;
use crate::form::FormData;
use crate::session::SignedIn;
use crate::state::DashboardState;
use crate::view::{self, Frame, csrf_field, maybe_time, time};

async fn linked_user(
    state: &DashboardState,
    signed_in: &SignedIn,
) -> Result<Option<TaskUser>, PageError> {
    let account = state.store.dashboard_user(&signed_in.user_id).await?;
    match account.and_then(|a| a.email) {
        Some(email) => Ok(state.store.task_user_by_email(&email).await?),
        None => Ok(None),
    }
}

#[derive(Deserialize)]
pub struct KeysQuery {
    notice: Option<String>,
}

pub async fn list(
    State(state): State<DashboardState>,
    signed_in: SignedIn,
    axum::extract::Query(q): axum::extract::Query<KeysQuery>,
) -> Result<Markup, PageError> {
    render(&state, &signed_in, q.notice.as_deref(), None).await
}

async fn render(
    state: &DashboardState,
    signed_in: &SignedIn,
    notice: Option<&str>,
    error: Option<&str>,
) -> Result<Markup, PageError> {
    let frame = Frame {
        title: "API Keys",
        user_id: &signed_in.user_id,
        csrf: &signed_in.csrf,
    };
    let Some(user) = linked_user(state, signed_in).await? else {
        return Ok(view::page(
            &frame,
            html! {
                h1 { "API Keys" }
                p.card { "No tasks account is linked to this sign-in. The operator links one by email: "
                    code { "guildgate admin user create --discord-id " (signed_in.user_id) " --email you@example.com --password-stdin" } }
            },
        ));
    };
    let now = state.now();
    let mut keys = state.store.tasks_keys_of_user(user.id).await?;
    keys.reverse();
    Ok(view::page(
        &frame,
        html! {
            h1 { "API Keys" }
            p.muted { "Keys for the tasks API, acting as " (user.email) ". Scopes are fixed when a key is created." }
            (view::notice(notice))
            @if let Some(error) = error { (view::error_notice(error)) }
            section.card {
                h2 { "Create a key" }
                form method="post" action="/dashboard/settings/api-keys" {
                    (csrf_field(&signed_in.csrf))
                    label for="key-label" { "Label" }
                    input id="key-label" name="label" maxlength="100" required;
                    fieldset { legend { "Scopes" }
                        @for scope in Scope::ALL {
                            label.inline { input type="checkbox" name="scopes" value=(scope.as_str()); (scope.as_str()) }
                        } }
                    label for="key-expiry" { "Expires after" }
                    select id="key-expiry" name="expiry" {
                        @for (value, label) in Expiry::PRESETS { option value=(value) selected[*value == "never"] { (label) } }
                    }
                    div { button type="submit" { "Create key" } }
                }
            }
            div.table-wrap { table id="key-list" {
                thead { tr { th scope="col" { "Label" } th scope="col" { "Scopes" } th scope="col" { "Created" }
                             th scope="col" { "Expires" } th scope="col" { "Status" } th scope="col" { "Actions" } } }
                tbody {
                    @for key in &keys {
                        @let status = if key.revoked_at.is_some() { "revoked" } else if key.expires_at.is_some_and(|at| at <= now) { "expired" } else { "active" };
                        tr data-key-id=(key.id) {
                            td { strong { (key.label) } br; code.muted { (key.id) } }
                            td { (key.scopes.names().join(", ")) }
                            td { (time(key.created_at)) }
                            td { (maybe_time(key.expires_at, "never")) }
                            td { span.badge.(status) { (status) } }
                            td { @if key.revoked_at.is_none() {
                                form method="post" action={ "/dashboard/settings/api-keys/" (key.id) "/revoke" }
                                     data-confirm={ "Revoke key " (key.label) "? Scripts using it stop working at once." } {
                                    (csrf_field(&signed_in.csrf))
                                    button.danger type="submit" aria-label={ "Revoke " (key.label) } { "Revoke" }
                                } } }
                        }
                    }
                    @if keys.is_empty() { tr { td colspan="6" .muted { "No keys yet." } } }
                }
            } }
        },
    ))
}

pub async fn create(
    State(state): State<DashboardState>,
    signed_in: SignedIn,
    form: FormData,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&form)?;
    let Some(user) = linked_user(&state, &signed_in).await? else {
        return Err(PageError::not_found());
    };
    let result: Result<_, OwnerError> = async {
        let scopes = ScopeSet::parse_list(&form.all("scopes").collect::<Vec<_>>().join(","))
            .map_err(|m| guildgate_core::error::ApiError::validation("scopes", m))?;
        let expiry = Expiry::parse_preset("expiry", form.get("expiry").unwrap_or("never"))?;
        let workspace = state
            .store
            .workspaces_of(user.id)
            .await?
            .first()
            .map(|w| w.id);
        let actor = signed_in.actor(&state);
        mint_tasks_key(
            state.owner(),
            &actor,
            user.id,
            workspace,
            form.get("label").unwrap_or(""),
            scopes,
            expiry.at(actor.now),
        )
        .await
    }
    .await;
    match result {
        Ok((key, secret)) => {
            let frame = Frame {
                title: "Key created",
                user_id: &signed_in.user_id,
                csrf: &signed_in.csrf,
            };
            Ok(view::page(
                &frame,
                view::secret_once(
                    "Key",
                    &key.label,
                    &key.id,
                    secret.expose(),
                    "/dashboard/settings/api-keys",
                ),
            )
            .into_response())
        }
        Err(OwnerError::Api(err)) => {
            let page = render(&state, &signed_in, None, Some(&err.message)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(OwnerError::Store(err)) => Err(err.into()),
    }
}

pub async fn revoke(
    State(state): State<DashboardState>,
    signed_in: SignedIn,
    Path(key_id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&form)?;
    let user = linked_user(&state, &signed_in)
        .await?
        .ok_or_else(PageError::not_found)?;
    if !is_ulid(&key_id) {
        return Err(PageError::not_found());
    }
    let key = state
        .store
        .tasks_key(&key_id)
        .await?
        .filter(|k| k.user_id == user.id)
        .ok_or_else(PageError::not_found)?;
    revoke_tasks_key(state.owner(), &signed_in.actor(&state), &key).await?;
    Ok(Redirect::to("/dashboard/settings/api-keys?notice=key-revoked").into_response())
}
