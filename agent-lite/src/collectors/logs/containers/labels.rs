//! Which containers' logs are collected, and what their lines are tagged with, as the
//! Agent decides it: every container with `logs_config.container_collect_all`, otherwise
//! only those whose `com.datadoghq.ad.logs` autodiscovery label asks for it. The label's
//! `source` and `service` name the lines; without them the service is the container's
//! `com.datadoghq.tags.service` label, then its name, and the source its short image.

use std::collections::HashMap;

use serde_json::Value;

use crate::collectors::containers::tags;

pub const AD_LOGS_LABEL: &str = "com.datadoghq.ad.logs";
const SERVICE_LABEL: &str = "com.datadoghq.tags.service";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Every container (DD_LOGS_CONFIG_CONTAINER_COLLECT_ALL=true).
    All,
    /// Only containers with a `com.datadoghq.ad.logs` label.
    Labelled,
}

impl Selection {
    pub fn name(self) -> &'static str {
        match self {
            Selection::All => "all",
            Selection::Labelled => "labelled",
        }
    }
}

/// What a `com.datadoghq.ad.logs` label says about the container's own output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogsLabel {
    pub source: Option<String>,
    pub service: Option<String>,
}

/// Reads the label: a JSON list of log configurations, as
/// `[{"source":"rust","service":"demo-service"}]`. The first one of type `docker` (or of
/// no type: for a container, the Agent takes it as its output) applies; `file` and other
/// types name other inputs, which agent-lite does not follow from labels.
pub fn parse_logs_label(text: &str) -> Result<LogsLabel, String> {
    let configs: Vec<Value> = serde_json::from_str(text).map_err(|e| {
        format!("{AD_LOGS_LABEL} must be a JSON list like [{{\"source\":\"rust\",\"service\":\"web\"}}]: {e}")
    })?;
    let config = configs
        .iter()
        .find(|c| {
            c.is_object() && matches!(c.get("type").and_then(Value::as_str), None | Some("docker"))
        })
        .ok_or_else(|| {
            format!("{AD_LOGS_LABEL} has no log configuration for the container's output")
        })?;
    let text_of = |key: &str| {
        config
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Ok(LogsLabel {
        source: text_of("source"),
        service: text_of("service"),
    })
}

/// A container as the Engine lists it or names it in an event.
#[derive(Debug, Clone, Default)]
pub struct ContainerMeta {
    pub id: String,
    pub name: String,
    pub image: String,
    pub labels: HashMap<String, String>,
}

/// A container whose logs are followed, and what its lines are tagged with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTarget {
    pub id: String,
    pub name: String,
    pub short_image: Option<String>,
    pub source: String,
    /// The service of lines that do not name theirs.
    pub service: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Follow(LogTarget),
    Skip,
    /// Labelled for logs, but the label cannot be read: said once, not followed (the Agent
    /// refuses a configuration it cannot read), unless every container is collected.
    BadLabel(String),
}

pub fn decide(meta: &ContainerMeta, selection: Selection) -> Decision {
    let label = match meta.labels.get(AD_LOGS_LABEL).map(|t| parse_logs_label(t)) {
        Some(Ok(label)) => label,
        Some(Err(e)) if selection == Selection::Labelled => return Decision::BadLabel(e),
        // Every container is collected: one with a label that cannot be read too, untagged.
        Some(Err(_)) | None if selection == Selection::All => LogsLabel::default(),
        Some(Err(_)) | None => return Decision::Skip,
    };
    let name = meta.name.trim_start_matches('/').to_owned();
    let short_image = tags::parse_image(&meta.image).map(|r| r.short);
    let service = label
        .service
        .or_else(|| {
            meta.labels
                .get(SERVICE_LABEL)
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| name.clone());
    let source = label
        .source
        .or_else(|| short_image.clone())
        .unwrap_or_else(|| "docker".to_owned());
    Decision::Follow(LogTarget {
        id: meta.id.clone(),
        name,
        short_image,
        source,
        service,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(labels: &[(&str, &str)]) -> ContainerMeta {
        ContainerMeta {
            id: "c0ffee".into(),
            name: "/web-1".into(),
            image: "registry:5000/team/demo-service:1.0".into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn the_label_gives_source_and_service() {
        assert_eq!(
            parse_logs_label(r#"[{"source":"rust","service":"demo-service"}]"#),
            Ok(LogsLabel {
                source: Some("rust".into()),
                service: Some("demo-service".into())
            })
        );
        assert_eq!(
            parse_logs_label(
                r#"[{"type":"file","path":"/x.log","service":"f"},{"type":"docker","source":"nginx"}]"#
            ),
            Ok(LogsLabel {
                source: Some("nginx".into()),
                service: None
            })
        );
        assert_eq!(parse_logs_label("[{}]"), Ok(LogsLabel::default()));
    }

    #[test]
    fn a_bad_label_says_why() {
        for bad in [
            "",
            "{\"source\":\"rust\"}",
            "[{\"source\":",
            "[]",
            "[{\"type\":\"file\"}]",
            "[\"rust\"]",
        ] {
            let err = parse_logs_label(bad).expect_err(bad);
            assert!(err.contains(AD_LOGS_LABEL), "{bad}: {err}");
        }
    }

    #[test]
    fn labelled_mode_follows_only_labelled_containers() {
        assert_eq!(decide(&meta(&[]), Selection::Labelled), Decision::Skip);
        let Decision::Follow(t) = decide(
            &meta(&[(AD_LOGS_LABEL, r#"[{"source":"rust","service":"api"}]"#)]),
            Selection::Labelled,
        ) else {
            panic!("a labelled container is followed");
        };
        assert_eq!(
            (t.name.as_str(), t.source.as_str(), t.service.as_str()),
            ("web-1", "rust", "api")
        );
        assert_eq!(t.short_image.as_deref(), Some("demo-service"));
        assert!(matches!(
            decide(&meta(&[(AD_LOGS_LABEL, "oops")]), Selection::Labelled),
            Decision::BadLabel(_)
        ));
    }

    #[test]
    fn the_service_falls_back_to_the_tags_label_then_the_name() {
        let follow = |labels: &[(&str, &str)]| match decide(&meta(labels), Selection::All) {
            Decision::Follow(t) => t,
            other => panic!("collect all follows every container: {other:?}"),
        };
        let t = follow(&[(SERVICE_LABEL, "tagged")]);
        assert_eq!(
            (t.service.as_str(), t.source.as_str()),
            ("tagged", "demo-service")
        );
        let t = follow(&[
            (AD_LOGS_LABEL, r#"[{"source":"rust"}]"#),
            (SERVICE_LABEL, "tagged"),
        ]);
        assert_eq!((t.service.as_str(), t.source.as_str()), ("tagged", "rust"));
        assert_eq!(follow(&[]).service, "web-1");
        assert_eq!(follow(&[(AD_LOGS_LABEL, "not json")]).service, "web-1");
        let mut by_id = meta(&[]);
        by_id.image = "sha256:abc".into();
        let Decision::Follow(t) = decide(&by_id, Selection::All) else {
            panic!("followed");
        };
        assert_eq!((t.source.as_str(), t.short_image), ("docker", None));
    }
}
