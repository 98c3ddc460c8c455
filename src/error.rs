//! One error type for the service layer, answered once as RFC 9457 problem details.
//!
//! Expected errors (the caller can fix them) carry a clear message; `Unexpected` is
//! logged with its cause chain and answered as a bare 500.
use poem::{
    IntoResponse, Response,
    error::ResponseError,
    http::{HeaderValue, StatusCode, header},
};
use poem_openapi::{
    ApiResponse, Object,
    registry::{MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::{ToJSON, Type},
};
use sea_orm::{DbErr, SqlErr};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct FieldError {
    /// The request field, as named in the request body (`credit_code`, `regions[2]`).
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Problem details (RFC 9457).
#[derive(Debug, Clone, Object)]
pub struct Problem {
    /// A URI reference identifying the problem type; `about:blank` for plain HTTP errors.
    #[oai(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
    /// Validation failures, one per field.
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<FieldError>>,
    /// For a refused case action: the case's current state.
    #[oai(skip_serializing_if_is_none)]
    pub state: Option<String>,
    /// For a refused case action: what this caller may do now.
    #[oai(skip_serializing_if_is_none)]
    pub allowed_actions: Option<Vec<String>>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, detail: Option<String>) -> Self {
        Self {
            kind: kind.to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors: None,
            state: None,
            allowed_actions: None,
        }
    }

    fn response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = self.to_json_string();
        Response::builder()
            .status(status)
            .content_type(PROBLEM_JSON)
            .body(body)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{detail}")]
    Conflict {
        detail: String,
        state: Option<String>,
        allowed_actions: Option<Vec<String>>,
    },
    #[error("too many attempts; retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::Conflict {
            detail: detail.into(),
            state: None,
            allowed_actions: None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Validation(_) => "urn:redress:problem:validation",
            Self::BadRequest(_) => "urn:redress:problem:bad-request",
            Self::Unauthorized(_) => "urn:redress:problem:unauthorized",
            Self::Forbidden(_) => "urn:redress:problem:forbidden",
            Self::NotFound => "urn:redress:problem:not-found",
            Self::Conflict { .. } => "urn:redress:problem:conflict",
            Self::TooManyRequests { .. } => "urn:redress:problem:rate-limited",
            Self::Unexpected(_) => "about:blank",
        }
    }

    fn problem(&self) -> Problem {
        let status = self.status();
        let detail = match self {
            Self::Unexpected(_) => None,
            other => Some(other.to_string()),
        };
        let mut problem = Problem::new(status, self.kind(), detail);
        match self {
            Self::Validation(errors) => problem.errors = Some(errors.clone()),
            Self::Conflict {
                state,
                allowed_actions,
                ..
            } => {
                problem.state = state.clone();
                problem.allowed_actions = allowed_actions.clone();
            }
            _ => {}
        }
        problem
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                Self::conflict("a record with the same unique value already exists")
            }
            _ => Self::Unexpected(err.into()),
        }
    }
}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn as_response(&self) -> Response {
        if let Self::Unexpected(err) = self {
            tracing::error!(error = ?err, "unexpected error");
        }
        let mut resp = self.problem().response();
        match self {
            Self::TooManyRequests { retry_after_secs } => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Self::Unauthorized(_) => {
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        resp
    }
}

/// Documents the problem responses every operation may give.
impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        let problem = |status: u16, description: &'static str| MetaResponse {
            description,
            status: Some(status),
            status_range: None,
            content: vec![MetaMediaType {
                content_type: PROBLEM_JSON,
                schema: Problem::schema_ref(),
            }],
            headers: vec![],
        };
        MetaResponses {
            responses: vec![
                problem(400, "Malformed request"),
                problem(401, "Missing, invalid or expired token"),
                problem(403, "The caller's role may not do this"),
                problem(404, "Not found, or not visible to the caller"),
                problem(409, "Conflicts with the current state"),
                problem(413, "Request body too large"),
                problem(415, "Unsupported content type"),
                problem(422, "Invalid fields"),
                problem(429, "Too many attempts (see Retry-After)"),
                problem(500, "Unexpected error"),
            ],
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

/// Turns every error that escapes an endpoint (unknown route, wrong method, bad JSON,
/// oversized body, failed auth, …) into problem details.
pub async fn catch_all(err: poem::Error) -> Response {
    if err.is::<ApiError>() {
        return err.into_response();
    }
    let status = err.status();
    if status.is_server_error() {
        tracing::error!(error = %err, "unhandled error");
        return Problem::new(status, "about:blank", None).into_response();
    }
    let detail = Some(err.to_string()).filter(|d| !d.is_empty());
    Problem::new(status, "about:blank", detail).into_response()
}

/// A panic in a handler becomes a bare 500.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "about:blank", None).into_response()
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        self.response()
    }
}
