//! agent-lite's own counters: what it took and what it refused, by reason. The one list of
//! them is [`Counter`] (a fixed name) and [`Family`] (a name ending in a reason); each entry's
//! doc line is what `agent-lite status` and the README's table say of it (a test checks the
//! README against this list). They are shown by `GET /status` and written to the store as
//! `datadog.agent_lite.<name>` gauges (running totals); a counter shows once it counted
//! something.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Declares the list: each entry `Variant = "name"` with its doc, so the name, the doc and
/// the variant cannot drift apart.
macro_rules! list {
    ($(#[$meta:meta])* pub enum $ty:ident { $( #[doc = $doc:literal] $variant:ident = $name:literal, )* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $ty { $( #[doc = $doc] $variant, )* }

        impl $ty {
            /// Every entry, in the order of the list.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            pub const fn name(self) -> &'static str {
                match self { $($ty::$variant => $name),* }
            }

            /// What it counts, in one line.
            pub fn doc(self) -> &'static str {
                match self { $($ty::$variant => $doc.trim()),* }
            }
        }
    };
}

list! {
    /// A counter of agent-lite's own with a fixed name.
    pub enum Counter {
        /// `GET /info` requests (a tracer asking what the agent takes).
        TracesInfoRequests = "traces.info_requests",
        /// Traces received in accepted payloads.
        TracesReceived = "traces.received",
        /// Spans received in accepted payloads.
        TracesSpans = "traces.spans",
        /// Spans whose tracer computed their stats itself (`Datadog-Client-Computed-Stats`), not counted again.
        TracesSpansWithClientStats = "traces.spans_with_client_stats",
        /// Spans cut by the Agent's truncator (a resource, tag key or value over its limit).
        TracesSpansTruncated = "traces.spans_truncated",
        /// Trace-metric points refused because the series cap was reached.
        TracesStatsPointsRefused = "traces.stats_points_refused",
        /// Client stats payloads (`/v0.6/stats`) accepted.
        StatsPayloads = "stats.payloads",
        /// Stats groups in accepted client stats payloads.
        StatsGroups = "stats.groups",
        /// Profile uploads (`/profiling/v1/input`) accepted and kept.
        ProfilesReceived = "profiles.received",
        /// DogStatsD datagrams received.
        DogstatsdPackets = "dogstatsd.packets",
        /// DogStatsD metric lines taken.
        DogstatsdMetrics = "dogstatsd.metrics",
        /// DogStatsD events taken.
        DogstatsdEvents = "dogstatsd.events",
        /// DogStatsD service checks taken.
        DogstatsdServiceChecks = "dogstatsd.service_checks",
        /// DogStatsD points refused because the series cap was reached.
        DogstatsdPointsRefused = "dogstatsd.points_refused",
        /// Monitor state transitions.
        MonitorsTransitions = "monitors.transitions",
        /// Host collections run.
        CollectorsHostRuns = "collectors.host.runs",
        /// Container collections run.
        CollectorsContainersRuns = "collectors.containers.runs",
        /// Container collections that failed (the container list could not be had).
        CollectorsContainersErrors = "collectors.containers.errors",
        /// Containers that could not be read in a collection (one that stopped meanwhile, mostly).
        CollectorsContainersReadErrors = "collectors.containers.read_errors",
        /// Postgres check collections run.
        CollectorsPostgresRuns = "collectors.postgres.runs",
        /// Postgres check collections that failed (no connection, or a query refused).
        CollectorsPostgresErrors = "collectors.postgres.errors",
        /// Docker Engine events received.
        CollectorsDockerEventsReceived = "collectors.docker_events.received",
        /// Times the Docker event stream ended and was taken up again.
        CollectorsDockerEventsStreamErrors = "collectors.docker_events.stream_errors",
        /// Docker Engine outages (once per outage).
        CollectorsDockerUnavailable = "collectors.docker.unavailable",
        /// Log lines read from files.
        LogsLines = "logs.lines",
        /// Log files that could not be read (once per spell of failure).
        LogsFileErrors = "logs.file_errors",
        /// Log lines read from containers.
        LogsContainerLines = "logs.container_lines",
        /// Container log lines cut at the line size limit.
        LogsContainerLinesCut = "logs.container_lines_cut",
        /// Container log streams that broke.
        LogsContainerStreamErrors = "logs.container_stream_errors",
        /// Container log streams taken up again after a break.
        LogsContainerStreamResumed = "logs.container_stream_resumed",
        /// Errors on the Docker event stream the log collection follows.
        LogsContainerEventErrors = "logs.container_event_errors",
        /// Container listings for the log collection that failed.
        LogsContainerListErrors = "logs.container_list_errors",
        /// Containers whose `com.datadoghq.ad.logs` label cannot be read.
        LogsContainerLabelErrors = "logs.container_label_errors",
        /// Containers whose logs the Engine cannot give (their logging driver).
        LogsContainerUnreadable = "logs.container_unreadable",
    }
}

list! {
    /// A family of counters named `<name>.<reason>`.
    pub enum Family {
        /// Trace payloads refused, by reason (`invalid_msgpack`, `invalid_json`, `unsupported_content_type`, `too_large`, `unreadable_body`, `malformed_http`, `head_too_large`).
        TracesRejected = "traces.rejected",
        /// Trace payloads accepted, by version (`v0.3`, `v0.4`, `v0.5`).
        TracesPayloads = "traces.payloads",
        /// Tracers' side channels, accepted and counted (`telemetry`, `evp_proxy`, `debugger`, `tracer_flare`, `pipeline_stats`, `remote_config`, `unknown_path`).
        TracesSide = "traces.side",
        /// Client stats payloads refused, by reason (`invalid_msgpack`, `invalid_sketch`, `too_large`, `unreadable_body`).
        StatsRejected = "stats.rejected",
        /// Profile uploads refused, by reason (`bad_content_type`, `invalid_multipart`, `no_event`, `invalid_event`, `missing_attachment`, `no_pprof`, `bad_compression`, `invalid_pprof`, `too_large`, `unreadable_body`).
        ProfilesRejected = "profiles.rejected",
        /// DogStatsD lines or datagrams refused, by reason (`no_value`, `bad_value`, `packet_too_large`, ...).
        DogstatsdRejected = "dogstatsd.rejected",
        /// API requests refused, by the status' reason (`bad_request`, `not_found`, `payload_too_large`, `malformed_http`, ...).
        ApiRejected = "api.rejected",
        /// Host collection parts that could not be read (`cpu`, `memory`, `disk`, `load`, `uptime`).
        CollectorsHostErrors = "collectors.host.errors",
        /// Docker Engine outages, by reason (`no_socket`, `permission_denied`, `bad_docker_host`, `no_answer`).
        CollectorsDockerUnavailable = "collectors.docker.unavailable",
    }
}

/// The counters, shared by every component (clones share them). Fixed counters are atomics,
/// so the intakes count without a lock; a family's reasons go in a small map.
#[derive(Debug, Clone)]
pub struct Counters(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    fixed: Vec<AtomicU64>,
    families: Mutex<BTreeMap<Family, BTreeMap<String, u64>>>,
}

impl Default for Counters {
    fn default() -> Self {
        Self(Arc::new(Inner {
            fixed: Counter::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
            families: Mutex::default(),
        }))
    }
}

impl Counters {
    pub fn add(&self, counter: Counter, n: u64) {
        if n > 0 {
            self.0.fixed[counter as usize].fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn incr(&self, counter: Counter) {
        self.add(counter, 1);
    }

    /// Counts one under `<family>.<reason>`.
    pub fn incr_reason(&self, family: Family, reason: &str) {
        let mut families = self.0.families.lock().unwrap_or_else(|e| e.into_inner());
        let reasons = families.entry(family).or_default();
        match reasons.get_mut(reason) {
            Some(n) => *n += 1,
            None => {
                reasons.insert(reason.to_owned(), 1);
            }
        }
    }

    /// One counter by its full name (0 when it has counted nothing).
    pub fn get(&self, name: &str) -> u64 {
        self.snapshot().get(name).copied().unwrap_or(0)
    }

    /// Every counter that counted something, by its full name.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        let mut out: BTreeMap<String, u64> = Counter::ALL
            .iter()
            .filter_map(|c| {
                let n = self.0.fixed[*c as usize].load(Ordering::Relaxed);
                (n > 0).then(|| (c.name().to_owned(), n))
            })
            .collect();
        let families = self.0.families.lock().unwrap_or_else(|e| e.into_inner());
        for (family, reasons) in families.iter() {
            for (reason, n) in reasons {
                out.insert(format!("{}.{reason}", family.name()), *n);
            }
        }
        out
    }
}

/// What the counter of this full name counts (a family's doc for `<family>.<reason>`).
pub fn describe(name: &str) -> Option<&'static str> {
    if let Some(c) = Counter::ALL.iter().find(|c| c.name() == name) {
        return Some(c.doc());
    }
    Family::ALL
        .iter()
        .find(|f| {
            name.strip_prefix(f.name())
                .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1)
        })
        .map(|f| f.doc())
}

/// The README's table of counters, as this list makes it.
pub fn markdown_table() -> String {
    let mut out = String::from("| counter | what it counts |\n| --- | --- |\n");
    for c in Counter::ALL {
        out.push_str(&format!("| `{}` | {} |\n", c.name(), c.doc()));
    }
    for f in Family::ALL {
        out.push_str(&format!("| `{}.<reason>` | {} |\n", f.name(), f.doc()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_and_family_counters_show_by_name_once_they_count() {
        let c = Counters::default();
        assert!(c.snapshot().is_empty());
        c.add(Counter::TracesSpans, 0);
        assert!(c.snapshot().is_empty(), "adding nothing shows nothing");
        c.add(Counter::TracesSpans, 3);
        c.incr_reason(Family::TracesRejected, "invalid_msgpack");
        c.incr_reason(Family::TracesRejected, "invalid_msgpack");
        let s = c.snapshot();
        assert_eq!(s.get("traces.spans"), Some(&3));
        assert_eq!(s.get("traces.rejected.invalid_msgpack"), Some(&2));
        assert_eq!(c.get("traces.received"), 0);
        assert_eq!(describe("traces.spans"), Some(Counter::TracesSpans.doc()));
        assert_eq!(
            describe("traces.rejected.invalid_msgpack"),
            Some(Family::TracesRejected.doc())
        );
        assert_eq!(describe("traces.rejected"), None);
    }

    #[test]
    fn names_are_unique_and_no_fixed_name_is_inside_a_family() {
        // A family may share its name with a fixed counter, its total
        // (`collectors.docker.unavailable` and `collectors.docker.unavailable.<reason>`).
        for names in [
            Counter::ALL.iter().map(|c| c.name()).collect::<Vec<_>>(),
            Family::ALL.iter().map(|f| f.name()).collect(),
        ] {
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), names.len(), "a name is listed twice");
        }
        for c in Counter::ALL {
            for f in Family::ALL {
                assert!(
                    !c.name().starts_with(&format!("{}.", f.name())),
                    "{} would read as a reason of {}",
                    c.name(),
                    f.name()
                );
            }
        }
    }

    /// The README's table is this list: edit the doc lines here, then run with
    /// `UPDATE_README=1` to write the table between its markers.
    #[test]
    fn the_readme_table_is_the_list() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(path).expect("README.md");
        let (begin, end) = (
            "<!-- counters: generated from agent-lite/src/counters.rs -->\n",
            "<!-- end of counters -->",
        );
        let start = readme
            .find(begin)
            .expect("the README has the counters' begin marker")
            + begin.len();
        let stop = start
            + readme[start..]
                .find(end)
                .expect("the README has the counters' end marker");
        let table = markdown_table();
        if readme[start..stop] != table {
            if std::env::var_os("UPDATE_README").is_some() {
                let updated = format!("{}{table}{}", &readme[..start], &readme[stop..]);
                std::fs::write(path, updated).expect("write README.md");
            } else {
                panic!("README.md's counters table differs from agent-lite/src/counters.rs: run `UPDATE_README=1 cargo test -p agent-lite counters` and commit README.md");
            }
        }
    }
}
