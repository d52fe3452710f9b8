//! The Audit log tab: every call made with the guild's tokens and every owner action,
//! newest first, filtered by token, outcome and time.

use guildgate_core::audit::OUTCOME_SUCCESS;
use guildgate_core::clock::{DAY, Millis, parse_rfc3339};
use guildgate_core::error::ErrorCode;
use guildgate_core::ids::is_ulid;
use guildgate_core::model::PageRequest;
use guildgate_storage::AuditFilter;
use maud::{Markup, html};

use super::guild::GuildPage;
use crate::error::PageError;
use crate::view::{error_notice, time};

const PAGE_SIZE: u32 = 50;

/// `YYYY-MM-DD` (a UTC day, as a date input sends it) to the start of that day.
fn day_start(field: &str, value: Option<&str>) -> Result<Option<Millis>, String> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(day) => parse_rfc3339(&format!("{day}T00:00:00Z"))
            .map(Some)
            .ok_or_else(|| format!("{field} must be a date such as 2026-11-23")),
    }
}

pub async fn tab(page: &GuildPage<'_>) -> Result<Markup, PageError> {
    let q = page.query;
    let tokens = page.state.store.tokens_of_guild(&page.guild.id).await?;
    let token = q.token.as_deref().filter(|t| is_ulid(t)).map(str::to_owned);
    let outcome = q
        .outcome
        .as_deref()
        .filter(|o| *o == OUTCOME_SUCCESS || ErrorCode::ALL.iter().any(|c| c.as_str() == *o))
        .map(str::to_owned);
    let since = day_start("since", q.since.as_deref());
    let until = day_start("until", q.until.as_deref()).map(|d| d.map(|d| d + DAY));
    let (since, until, bad_date) = match (since, until) {
        (Ok(s), Ok(u)) => (s, u, None),
        (Err(e), _) | (_, Err(e)) => (None, None, Some(e)),
    };
    let filter = AuditFilter {
        token_id: token.clone(),
        outcome: outcome.clone(),
        since,
        until,
        ..AuditFilter::default()
    };
    let request = PageRequest {
        limit: PAGE_SIZE,
        before: q.before.clone().filter(|b| is_ulid(b)),
    };
    // Rows of reads and refusals are written in batches: show the ones just made.
    page.state.audit.flush().await;
    let rows = page
        .state
        .store
        .audit(&page.guild.id, &filter, &request)
        .await?;
    let base = format!("/dashboard/{}/settings/api-mcp", page.guild.id);
    let older = rows.next_cursor.as_ref().map(|cursor| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("tab", "audit");
        for (key, value) in [
            ("token", q.token.as_deref()),
            ("outcome", q.outcome.as_deref()),
            ("since", q.since.as_deref()),
            ("until", q.until.as_deref()),
        ] {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                query.append_pair(key, value);
            }
        }
        query.append_pair("before", cursor);
        format!("{base}?{}", query.finish())
    });
    Ok(html! {
        form.filters.card method="get" action=(base) role="search" aria-label="Filter the audit log" {
            input type="hidden" name="tab" value="audit";
            div { label for="audit-token" { "Token" }
                select id="audit-token" name="token" {
                    option value="" { "Any token" }
                    @for t in tokens.iter().rev() {
                        option value=(t.id) selected[token.as_deref() == Some(t.id.as_str())] { (t.name) " (" (t.id.get(20..).unwrap_or("")) ")" }
                    }
                } }
            div { label for="audit-outcome" { "Outcome" }
                select id="audit-outcome" name="outcome" {
                    option value="" { "Any outcome" }
                    option value=(OUTCOME_SUCCESS) selected[outcome.as_deref() == Some(OUTCOME_SUCCESS)] { "success" }
                    @for code in ErrorCode::ALL {
                        option value=(code.as_str()) selected[outcome.as_deref() == Some(code.as_str())] { (code.as_str()) }
                    }
                } }
            div { label for="audit-since" { "From (UTC day)" }
                input id="audit-since" name="since" type="date" value=[q.since.as_deref()]; }
            div { label for="audit-until" { "To (UTC day)" }
                input id="audit-until" name="until" type="date" value=[q.until.as_deref()]; }
            div { button type="submit" { "Filter" } }
        }
        @if let Some(message) = bad_date { (error_notice(&message)) }
        div.table-wrap {
            table id="audit-log" {
                thead { tr {
                    th scope="col" { "Time" } th scope="col" { "Source" } th scope="col" { "Token" }
                    th scope="col" { "Endpoint / action" } th scope="col" { "Outcome" }
                    th scope="col" class="optional" { "Request id" }
                } }
                tbody {
                    @for row in &rows.data {
                        tr data-outcome=(row.outcome) data-action=(row.action) {
                            td { (time(row.at)) }
                            td { (row.actor_source) }
                            td { (row.token_name.as_deref().unwrap_or("—")) }
                            td { @match (&row.method, &row.path) {
                                    (Some(m), Some(p)) => { code { (m) " " (p) } br; }
                                    (None, Some(p)) => { span { (p) } br; }
                                    _ => {}
                                 }
                                 span.muted { (row.action) } }
                            td { span.badge.(if row.outcome == OUTCOME_SUCCESS { "active" } else { "danger" }) { (row.outcome) }
                                 @if let Some(status) = row.status { " " span.muted { (status) } } }
                            td.optional { code { (row.request_id.as_deref().unwrap_or("—")) } }
                        }
                    }
                    @if rows.data.is_empty() { tr { td colspan="6" .muted { "No audit rows match." } } }
                }
            }
        }
        @if let Some(older) = older { p { a href=(older) { "Older rows →" } } }
    })
}
