//! Container tags as the Agent's tagger makes them: `container_name`, `container_id`, the
//! image split into `docker_image`, `image_name`, `short_image`, `image_tag`; unified service
//! tagging from the `com.datadoghq.tags.*` labels; `com.datadoghq.ad.tags`. The Agent adds
//! no Compose tag by default (DD_CONTAINER_LABELS_AS_TAGS maps labels to tags); here the
//! Compose labels become `compose_project` and `compose_service`, as a dashboard of a Compose
//! lab wants them.

use std::collections::HashMap;

/// Labels turned into tags, and the tag each becomes.
const LABEL_TAGS: &[(&str, &str)] = &[
    ("com.datadoghq.tags.service", "service"),
    ("com.datadoghq.tags.env", "env"),
    ("com.datadoghq.tags.version", "version"),
    ("com.docker.compose.project", "compose_project"),
    ("com.docker.compose.service", "compose_service"),
];

const AD_TAGS_LABEL: &str = "com.datadoghq.ad.tags";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Repository with its registry: `docker.io/library/redis`.
    pub name: String,
    /// Last path segment: `redis`.
    pub short: String,
    pub tag: String,
}

/// Splits `registry:5000/team/app:1.2@sha256:...`; an image named by its ID (`sha256:...`,
/// what Docker shows once the tag moved on) has no short name nor tag.
pub fn parse_image(image: &str) -> Option<ImageRef> {
    let image = image.trim();
    if image.is_empty() || image.starts_with("sha256:") {
        return None;
    }
    let without_digest = image.split_once('@').map_or(image, |(n, _)| n);
    let last_slash = without_digest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match without_digest[last_slash..].rfind(':') {
        Some(i) => (
            &without_digest[..last_slash + i],
            &without_digest[last_slash + i + 1..],
        ),
        None => (without_digest, "latest"),
    };
    let short = name.rsplit('/').next().unwrap_or(name);
    Some(ImageRef {
        name: name.to_owned(),
        short: short.to_owned(),
        tag: tag.to_owned(),
    })
}

pub fn image_tags(image: &str) -> Vec<String> {
    let mut tags = vec![format!("docker_image:{image}")];
    match parse_image(image) {
        Some(r) => {
            tags.push(format!("image_name:{}", r.name));
            tags.push(format!("short_image:{}", r.short));
            tags.push(format!("image_tag:{}", r.tag));
        }
        None if !image.is_empty() => tags.push(format!("image_name:{image}")),
        None => tags.clear(),
    }
    tags
}

pub fn label_tags(labels: &HashMap<String, String>) -> Vec<String> {
    let mut tags: Vec<String> = LABEL_TAGS
        .iter()
        .filter_map(|(label, tag)| {
            labels
                .get(*label)
                .filter(|v| !v.is_empty())
                .map(|v| format!("{tag}:{v}"))
        })
        .collect();
    // A JSON list of tags; a malformed one is ignored, as the Agent ignores it.
    if let Some(extra) = labels
        .get(AD_TAGS_LABEL)
        .and_then(|v| serde_json::from_str::<Vec<String>>(v).ok())
    {
        tags.extend(extra.into_iter().filter(|t| !t.is_empty()));
    }
    tags
}

/// Tags shared by every container of one image and service: what `docker.containers.running`
/// is counted by.
pub fn low_card_tags(image: &str, labels: &HashMap<String, String>) -> Vec<String> {
    let mut tags = image_tags(image);
    tags.extend(label_tags(labels));
    tags
}

/// Every tag of one container.
pub fn container_tags(
    id: &str,
    name: &str,
    image: &str,
    labels: &HashMap<String, String>,
) -> Vec<String> {
    let mut tags = low_card_tags(image, labels);
    let name = name.trim_start_matches('/');
    if !name.is_empty() {
        tags.push(format!("container_name:{name}"));
    }
    if !id.is_empty() {
        tags.push(format!("container_id:{id}"));
    }
    tags.push("runtime:docker".into());
    tags
}
