//! Errors a handler answers with. A 5xx carries what Datadog shows on an error span:
//! `error.type` (the kind), `error.message` and `error.stack` (the Rust backtrace where the
//! error was made, like the Python traceback ddtrace records; see `stack`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A dependency failed or refused: PostgreSQL for inventory, inventory for demo-service.
    /// The status says how (500 refused, 502 bad answer, 503 unavailable, 504 too slow).
    #[error("{message}")]
    Dependency {
        status: StatusCode,
        kind: &'static str,
        message: String,
        stack: String,
    },
    /// A chaos endpoint asked for while chaos is off.
    #[error("chaos endpoints are disabled (DEMO_CHAOS_ENABLED=false)")]
    ChaosDisabled,
    /// A query parameter out of its bounds or unreadable.
    #[error("{0}")]
    BadRequest(String),
}

impl DemoError {
    /// A dependency's failure, with the stack of its caller.
    pub fn dependency(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self::Dependency {
            status,
            kind,
            message: message.into(),
            stack: super::stack::capture(),
        }
    }

    /// The value of `error.type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Dependency { kind, .. } => kind,
            Self::ChaosDisabled => "demo_service::ChaosDisabled",
            Self::BadRequest(_) => "demo_service::BadRequest",
        }
    }

    pub fn stack(&self) -> &str {
        match self {
            Self::Dependency { stack, .. } => stack,
            _ => "",
        }
    }
}

impl ResponseError for DemoError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Dependency { status, .. } => *status,
            Self::ChaosDisabled => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(json!({
            "error": self.kind(),
            "message": self.to_string(),
        }))
    }
}
