//! Why an upload was refused: the 400's (or 413's) body, and the reason it is counted under
//! (`profiles.rejected.<reason>`).

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("Content-Type must be multipart/form-data with a boundary: {0}")]
    BadContentType(String),
    #[error("malformed multipart body: {0}")]
    Multipart(String),
    #[error("upload over {0} bytes (AGENT_LITE_MAX_PROFILE_UPLOAD_BYTES)")]
    TooLarge(usize),
    #[error("the body could not be read: {0}")]
    Unreadable(String),
    #[error("no `event` part (event.json) in the upload")]
    NoEvent,
    #[error("event.json: {0}")]
    Event(String),
    #[error("event.json lists attachment {0:?}, which the upload does not carry")]
    MissingAttachment(String),
    #[error("the upload carries no pprof attachment")]
    NoPprof,
    #[error("attachment {name:?}: {reason}")]
    Compression { name: String, reason: String },
    #[error("attachment {name:?} is not a pprof profile: {reason}")]
    Pprof { name: String, reason: String },
}

impl ProfileError {
    /// The reason in `profiles.rejected.<reason>`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::BadContentType(_) => "bad_content_type",
            Self::Multipart(_) => "invalid_multipart",
            Self::TooLarge(_) => "too_large",
            Self::Unreadable(_) => "unreadable_body",
            Self::NoEvent => "no_event",
            Self::Event(_) => "invalid_event",
            Self::MissingAttachment(_) => "missing_attachment",
            Self::NoPprof => "no_pprof",
            Self::Compression { .. } => "bad_compression",
            Self::Pprof { .. } => "invalid_pprof",
        }
    }

    /// 413 for a body over the limit, 400 for the rest.
    pub fn status(&self) -> axum::http::StatusCode {
        match self {
            Self::TooLarge(_) => axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unreadable(_) => axum::http::StatusCode::REQUEST_TIMEOUT,
            _ => axum::http::StatusCode::BAD_REQUEST,
        }
    }
}
