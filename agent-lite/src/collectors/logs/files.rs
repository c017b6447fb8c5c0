//! The log files named in the configuration (local mode), each followed across rotation by
//! a `Tail`, looked at every half second.

use std::path::PathBuf;
use std::time::Duration;

use super::file_tail::Tail;
use super::parse;
use super::{LogOutput, Origin};
use crate::counters::Counter;

/// How often files are looked at: a line shows in the page within a second.
const POLL: Duration = Duration::from_millis(500);

/// A file to follow and the service its lines belong to when they do not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSource {
    pub service: Option<String>,
    pub path: PathBuf,
}

/// `service=path` (or a bare path), comma-separated.
pub fn parse_files(text: &str) -> Vec<FileSource> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| match item.split_once('=') {
            Some((service, path)) => FileSource {
                service: Some(service.trim().to_owned()),
                path: PathBuf::from(path.trim()),
            },
            None => FileSource {
                service: None,
                path: PathBuf::from(item),
            },
        })
        .collect()
}

/// The configured files, each taken at its end now (with whether its last read failed).
pub struct Followed(Vec<(FileSource, Tail, bool)>);

/// Takes each file's end now, before agent-lite answers: a line written once it is ready is
/// read, wherever the task that reads it stands.
pub fn follow(files: Vec<FileSource>) -> Followed {
    for f in &files {
        tracing::info!(path = %f.path.display(), service = ?f.service, "following log file");
    }
    Followed(
        files
            .into_iter()
            .map(|f| {
                let tail = Tail::new(f.path.clone());
                (f, tail, false)
            })
            .collect(),
    )
}

/// Reads the followed files until the process ends.
pub async fn run(followed: Followed, out: LogOutput) {
    let mut tails = followed.0;
    let mut tick = tokio::time::interval(POLL);
    loop {
        tick.tick().await;
        let now = crate::clock::now_secs() as f64;
        for (source, tail, warned) in tails.iter_mut() {
            match tail.read_lines() {
                Ok(lines) => {
                    *warned = false;
                    if lines.is_empty() {
                        continue;
                    }
                    let path = source.path.display().to_string();
                    let records = lines
                        .iter()
                        .map(|line| parse::parse(line, &path, source.service.as_deref(), now));
                    out.push(Origin::File, records, 0);
                }
                Err(e) => {
                    // Once per spell of failure, not every half second.
                    if !*warned {
                        tracing::warn!(path = %tail.path().display(), error = %e, "cannot read log file");
                        out.counters.incr(Counter::LogsFileErrors);
                        *warned = true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_service_equals_path() {
        assert_eq!(
            parse_files("demo-service=/var/log/demo.log, /tmp/x.log"),
            vec![
                FileSource {
                    service: Some("demo-service".into()),
                    path: "/var/log/demo.log".into()
                },
                FileSource {
                    service: None,
                    path: "/tmp/x.log".into()
                },
            ]
        );
    }
}
