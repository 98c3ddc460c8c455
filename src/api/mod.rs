//! The JSON API under `/api/v1`: poem-openapi handlers, thin (parse → service → map).
//! Wire types live here, separate from entities and domain types.
pub mod accounts;
pub mod associations;
pub mod auth;
pub mod calendars;
pub mod complaints;
pub mod institutions;
pub mod mediation;
pub mod public;
pub mod validate;
pub mod webhooks;

use poem_openapi::{OpenApiService, Tags};

#[derive(Tags)]
pub enum ApiTags {
    /// Sign-up, login and the current caller
    Auth,
    /// Staff, mediator, regulator and admin accounts
    Accounts,
    /// The institution registry and mandatory disclosures
    Institutions,
    /// Consumer associations that mediate disputes
    Associations,
    /// Complaint cases and their lifecycle
    Complaints,
    /// Mediation by consumer associations: offers, settlements, refund estimates
    Mediation,
    /// Working-day calendars (holidays and make-up days)
    Calendars,
    /// Published cases and complaint statistics, free to reuse
    OpenData,
    /// Signed notifications of case events to subscribers' endpoints
    Webhooks,
}

pub type Apis = (
    auth::AuthApi,
    accounts::AccountsApi,
    institutions::InstitutionsApi,
    associations::AssociationsApi,
    complaints::ComplaintsApi,
    mediation::MediationApi,
    mediation::ToolsApi,
    calendars::CalendarsApi,
    public::OpenDataApi,
    webhooks::WebhooksApi,
);

pub fn service() -> OpenApiService<Apis, webhooks::EventWebhooks> {
    OpenApiService::new(
        (
            auth::AuthApi,
            accounts::AccountsApi,
            institutions::InstitutionsApi,
            associations::AssociationsApi,
            complaints::ComplaintsApi,
            mediation::MediationApi,
            mediation::ToolsApi,
            calendars::CalendarsApi,
            public::OpenDataApi,
            webhooks::WebhooksApi,
        ),
        "redress",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Complaint and dispute resolution for online education: learners file complaints, \
         institutions answer within working-day time limits, consumer associations mediate, \
         and every case closes with a recorded outcome. Errors are RFC 9457 problem details.",
    )
    .server("/api/v1")
    .webhooks::<webhooks::EventWebhooks>()
}

/// The OpenAPI document as YAML (what `api-spec/openapi.yaml` holds).
pub fn spec_yaml() -> String {
    service().spec_yaml()
}
