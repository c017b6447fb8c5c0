use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{ContainerInspectResponse, ContainerStatsResponse, ContainerSummary};

use super::metrics::{self, cpu_rates, parse_time, Info, Reading};
use super::tags::{container_tags, label_tags, parse_image, ImageRef};
use crate::collectors::batch::Batch;

const INSPECT: &str = include_str!("../testdata/docker_inspect.json");
const STATS_FIRST: &str = include_str!("../testdata/docker_stats_cgroup1_first.json");
const STATS_SECOND: &str = include_str!("../testdata/docker_stats_cgroup1_second.json");
const STATS_V2: &str = include_str!("../testdata/docker_stats_cgroup2.json");

fn inspect() -> Info {
    let raw: ContainerInspectResponse = serde_json::from_str(INSPECT).expect("inspect fixture");
    Info::from_inspect(&raw).expect("an id")
}

fn stats(json: &str, at: Instant) -> Reading {
    let raw: ContainerStatsResponse = serde_json::from_str(json).expect("stats fixture");
    Reading::from_stats(&raw, at)
}

fn close(got: Option<f64>, want: f64) -> bool {
    got.is_some_and(|g| (g - want).abs() < 1e-6 * want.abs().max(1.0))
}

#[test]
fn the_inspection_of_a_docker_20_container_reads_as_it_was_started() {
    // docker run -m 64m --label com.datadoghq.tags.service=sleepy --health-cmd ...
    let info = inspect();
    assert_eq!(info.name, "fx1");
    assert_eq!(info.image, "agent-lite-test/sleeper:1");
    assert_eq!(info.memory_limit, Some(64 << 20));
    assert_eq!(info.cpu_limit_nanocores, None);
    assert_eq!(info.restart_count, 0);
    assert_eq!(info.health.as_deref(), Some("unhealthy"));
    assert_eq!(info.labels["com.datadoghq.tags.service"], "sleepy");
    assert_eq!(
        info.started_at,
        parse_time("2026-11-25T12:44:36.378635935Z")
    );
    assert!(info.started_at.is_some());
}

#[test]
fn memory_of_cgroup_v1_and_v2_in_bytes_with_the_working_set() {
    let v1 = stats(STATS_FIRST, Instant::now());
    let m = v1.memory.expect("memory");
    assert_eq!(m.usage, 22_568_960);
    assert_eq!(
        m.working_set,
        22_568_960 - 729_088,
        "usage less inactive file"
    );
    assert_eq!(m.rss, Some(21_024_768));
    assert_eq!(m.cache, Some(729_088));
    assert_eq!(v1.threads, Some(1));

    let v2 = stats(STATS_V2, Instant::now());
    let m = v2.memory.expect("memory");
    assert_eq!(m.usage, 100 << 20);
    assert_eq!(m.working_set, 80 << 20);
    assert_eq!(m.rss, Some(70 << 20));
    assert_eq!(m.cache, Some(30 << 20));
}

#[test]
fn cpu_is_in_nanocores_over_the_hosts_clock_and_percent_of_a_core_for_docker() {
    let now = Instant::now();
    let first = stats(STATS_FIRST, now).cpu.expect("cpu");
    let second = stats(STATS_SECOND, now + Duration::from_secs(2))
        .cpu
        .expect("cpu");
    let rates = cpu_rates(&first, &second).expect("rates");
    // 377,995,079 ns of CPU while the host's 2 CPUs ran 4.51 s: 2.255 s of wall time.
    let want = 377_995_079.0 / 2.255;
    assert!(close(Some(rates.usage), want), "{rates:?}");

    let info = inspect();
    let tags = container_tags(&info.id, &info.name, &info.image, &info.labels);
    let mut b = Batch::default();
    metrics::write(
        &mut b,
        &tags,
        &info,
        &stats(STATS_SECOND, now),
        Some(rates),
        0,
    );
    let fx1 = [
        "container_name:fx1",
        "service:sleepy",
        "short_image:sleeper",
    ];
    assert!(close(b.value("container.cpu.usage", &fx1), want));
    assert!(close(b.value("docker.cpu.usage", &fx1), want / 1e7));
    assert!((16.0..17.0).contains(&b.value("docker.cpu.usage", &fx1).unwrap_or(0.0)));
    assert_eq!(
        b.value("container.memory.limit", &fx1),
        Some(67_108_864.0),
        "the limit set with -m, not the host's memory"
    );
    let usage = b.value("container.memory.usage", &fx1).expect("usage");
    assert!(close(
        b.value("docker.mem.in_use", &fx1),
        usage / 67_108_864.0
    ));
    assert_eq!(b.value("container.restarts", &fx1), Some(0.0));
    assert_eq!(b.value("docker.container.healthy", &fx1), Some(0.0));
}

#[test]
fn without_the_hosts_clock_the_wall_clock_is_used_and_resets_give_nothing() {
    let now = Instant::now();
    let mut a = stats(STATS_V2, now).cpu.expect("cpu");
    a.host_total = None;
    let mut b = a;
    b.at = now + Duration::from_secs(2);
    b.total += 1_000_000_000;
    let r = cpu_rates(&a, &b).expect("rates");
    assert!(close(Some(r.usage), 5e8), "half a core: {r:?}");
    assert_eq!(cpu_rates(&b, &a), None, "counters went back: a restart");
}

#[test]
fn no_limit_no_limit_metric() {
    let mut info = inspect();
    info.memory_limit = None;
    info.health = None;
    let mut b = Batch::default();
    metrics::write(
        &mut b,
        &[],
        &info,
        &stats(STATS_V2, Instant::now()),
        None,
        0,
    );
    assert!(b.value("container.memory.usage", &[]).is_some());
    assert_eq!(b.value("container.memory.limit", &[]), None);
    assert_eq!(b.value("docker.mem.in_use", &[]), None);
    assert_eq!(b.value("docker.container.healthy", &[]), None);
    assert_eq!(
        b.value("container.cpu.usage", &[]),
        None,
        "rates need two readings"
    );
}

#[test]
fn images_split_as_the_agent_splits_them() {
    let r = |name: &str, short: &str, tag: &str| {
        Some(ImageRef {
            name: name.into(),
            short: short.into(),
            tag: tag.into(),
        })
    };
    assert_eq!(parse_image("redis"), r("redis", "redis", "latest"));
    assert_eq!(
        parse_image("registry:5000/team/app:1.2"),
        r("registry:5000/team/app", "app", "1.2")
    );
    assert_eq!(
        parse_image("registry:5000/team/app"),
        r("registry:5000/team/app", "app", "latest")
    );
    assert_eq!(
        parse_image("docker.io/library/nginx:1.25@sha256:abcd"),
        r("docker.io/library/nginx", "nginx", "1.25")
    );
    assert_eq!(parse_image("sha256:0123abcd"), None);
    assert_eq!(parse_image(""), None);
}

#[test]
fn labels_give_unified_service_tags_compose_tags_and_ad_tags() {
    let labels: HashMap<String, String> = [
        ("com.datadoghq.tags.service", "demo-service"),
        ("com.datadoghq.tags.env", "dev"),
        ("com.datadoghq.tags.version", "1.0"),
        ("com.docker.compose.project", "lab"),
        ("com.docker.compose.service", "web"),
        ("com.datadoghq.ad.tags", r#"["team:obs", "tier:front"]"#),
        ("maintainer", "someone"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut tags = label_tags(&labels);
    tags.sort();
    assert_eq!(
        tags,
        [
            "compose_project:lab",
            "compose_service:web",
            "env:dev",
            "service:demo-service",
            "team:obs",
            "tier:front",
            "version:1.0"
        ]
    );
    let bad: HashMap<String, String> =
        [("com.datadoghq.ad.tags".to_owned(), "not json".to_owned())].into();
    assert!(label_tags(&bad).is_empty());
}

#[test]
fn containers_are_counted_by_state_and_image() {
    let list: Vec<ContainerSummary> = serde_json::from_value(serde_json::json!([
        {"Id": "a", "Image": "web:1", "State": "running", "Labels": {}},
        {"Id": "b", "Image": "web:1", "State": "running", "Labels": {}},
        {"Id": "c", "Image": "web:1", "State": "exited", "Labels": {}},
        {"Id": "d", "Image": "db:2", "State": "restarting", "Labels": {}},
    ]))
    .expect("list");
    let mut b = Batch::default();
    super::count_states(&mut b, &list);
    assert_eq!(
        b.value("docker.containers.running", &["short_image:web"]),
        Some(2.0)
    );
    assert_eq!(
        b.value("docker.containers.stopped", &["short_image:web"]),
        Some(1.0)
    );
    assert_eq!(
        b.value("docker.containers.stopped", &["short_image:db"]),
        Some(1.0)
    );
    assert_eq!(b.value("docker.containers.running.total", &[]), Some(2.0));
    assert_eq!(b.value("docker.containers.stopped.total", &[]), Some(2.0));
}

#[test]
fn dockers_zero_time_is_no_time() {
    assert_eq!(parse_time("0001-01-01T00:00:00Z"), None);
    assert_eq!(parse_time("garbage"), None);
    assert_eq!(parse_time("2026-01-01T00:00:00Z"), Some(1_767_225_600));
}
