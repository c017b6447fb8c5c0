//! The multipart/form-data body of an upload, split into its parts with `multer` (the
//! multipart parser axum's own `Multipart` extractor is built on, maintained by the Rocket
//! team): the upload is read whole first, as every intake here does, so the parser is driven
//! over one in-memory buffer and never waits, and the fuzz target reaches it without a server.

use bytes::Bytes;

use super::error::ProfileError;

/// One part of the form: its field name, its file name when it has one, its bytes.
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub bytes: Bytes,
}

impl Part {
    /// What the event's `attachments` name it by: the file name (libdatadog sends
    /// `filename="profile.pprof"`), else the field name.
    pub fn attachment_name(&self) -> &str {
        self.file_name.as_deref().unwrap_or(&self.name)
    }
}

/// Splits `body` by the boundary of `content_type`. Parts past `max_parts` are refused, so
/// that a body of a million empty parts costs no more than its bytes.
pub fn parts(content_type: Option<&str>, body: Bytes) -> Result<Vec<Part>, ProfileError> {
    const MAX_PARTS: usize = 64;
    let content_type =
        content_type.ok_or_else(|| ProfileError::BadContentType("no Content-Type".into()))?;
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| ProfileError::BadContentType(format!("{content_type:?}: {e}")))?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    // block_on never parks here: the stream is one ready buffer.
    futures_executor::block_on(async {
        let mut parts = Vec::new();
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| ProfileError::Multipart(e.to_string()))?
        {
            if parts.len() == MAX_PARTS {
                return Err(ProfileError::Multipart(format!(
                    "more than {MAX_PARTS} parts"
                )));
            }
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let bytes = field
                .bytes()
                .await
                .map_err(|e| ProfileError::Multipart(format!("part {name:?}: {e}")))?;
            parts.push(Part {
                name,
                file_name,
                bytes,
            });
        }
        Ok(parts)
    })
}
