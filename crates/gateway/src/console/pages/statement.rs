//! `GET /console/sites/{id}/statement?date=YYYY-MM-DD&format=csv|json`: a site's statement of one
//! day as a file to keep — the bytes `GET /v1/statements/{date}` answers the site, from the API's
//! own renderer. A site user downloads their own site's only (another site's is the 404 page, as
//! its page is); admins and viewers any site's, from its page. A date that is not one, or another
//! format, is the 400 page.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde::Deserialize;

use crate::api::{StatementFormat, statement_response};
use crate::domain::{BillDay, SiteId};
use crate::service::ConsoleError;

use super::super::ConsoleState;
use super::super::assets::page_headers;
use super::super::lang::Names;
use super::super::page::{bad_request, internal_error, not_found_page};
use super::super::session::Signed;

#[derive(Deserialize)]
pub(in super::super) struct Params {
    #[serde(default)]
    date: String,
    format: Option<String>,
}

/// `GET /console/sites/{id}/statement`.
pub(in super::super) async fn download(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> Response {
    let lang = signed.lang;
    let Ok(site) = SiteId::parse(&id) else {
        return not_found_page(lang);
    };
    let Some(day) = BillDay::parse(p.date.trim()) else {
        return bad_request(lang, lang.books().bad_date);
    };
    let Some(format) = StatementFormat::parse(p.format.as_deref()) else {
        return bad_request(lang, lang.books().bad_format);
    };
    let scope = signed.user.role.scope();
    let statement = match state.console.statement(&scope, &site, day).await {
        Ok(statement) => statement,
        Err(ConsoleError::NotFound) => return not_found_page(lang),
        Err(e) => {
            tracing::error!(error = %e, "console: a statement could not be read");
            return internal_error(lang);
        }
    };
    let mut response = statement_response(&statement, format);
    let headers = response.headers_mut();
    for (name, value) in page_headers() {
        headers.insert(name, value);
    }
    // The site in the file's name: an operator downloads several sites' statements of a day.
    let name = format!(
        "attachment; filename=\"statement-{site}-{day}.{}\"",
        format.extension()
    );
    if let Ok(value) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
