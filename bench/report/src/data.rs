//! What the stages write (bench/<stage>.sh, through `emit` in bench/lib.sh): one JSON file a
//! stage in `<results>/data/`. A stage that did not run, or failed, has no file; the report
//! says "not measured" for its figures.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// What every stage's file carries.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Meta {
    pub mode: String,
    pub measured_at: String,
    pub machine: Machine,
    pub commit: String,
    #[serde(default)]
    pub notes: Vec<String>,
    /// The load the stage applied, in words.
    #[serde(default)]
    pub load: Option<String>,
    /// The 1-minute load average when the stage began: other work skews figures.
    #[serde(default)]
    pub load_before: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Machine {
    pub cores: u32,
    pub cpu: String,
    pub kernel: String,
}

/// Latency percentiles in milliseconds; each tool gives its own set.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p75: Option<f64>,
    pub p90: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

impl Percentiles {
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "p50" => self.p50,
            "p75" => self.p75,
            "p90" => self.p90,
            "p95" => self.p95,
            "p99" => self.p99,
            "max" => self.max,
            _ => None,
        }
    }
}

/// One wrk run, as bench/peers/wrk-json.lua prints it.
#[derive(Debug, Clone, Deserialize)]
pub struct WrkRun {
    pub rps: f64,
    pub latency_ms: Percentiles,
    #[serde(default)]
    pub errors: WrkErrors,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WrkErrors {
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    pub status: u64,
    pub timeout: u64,
}

impl WrkErrors {
    pub fn total(&self) -> u64 {
        self.connect + self.read + self.write + self.status + self.timeout
    }
}

// --- demo-service ---------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
pub struct DemoService {
    #[serde(flatten)]
    pub meta: Meta,
    pub systems: DemoSystems,
    /// `GET /slow?ms=0` through inventory and PostgreSQL (runs (d) to (g)), when measured.
    #[serde(default)]
    pub db_backed: Option<DbBacked>,
    /// The continuous profiler's cost (runs (h), (i)), when measured.
    #[serde(default)]
    pub profiler: Option<Profiler>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DemoSystems {
    pub traced: DemoSystem,
    pub untraced: DemoSystem,
    pub flask: DemoSystem,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DemoSystem {
    pub label: String,
    pub wrk: WrkRun,
    /// Requests answered, warm-up included: what the spans are counted against.
    pub answered: u64,
    pub spans_delivered: u64,
    /// The traces the service's tracer said it dropped (its buffer full), when it says.
    #[serde(default)]
    pub traces_dropped_by_tracer: Option<u64>,
    /// CPU spent during the measured run, when the stage read it (not for the Flask peer).
    #[serde(default)]
    pub cpu: Option<ServiceCpu>,
}

/// The CPU a demo-service run cost, read from /proc around the measured wrk run.
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceCpu {
    /// Requests of the measured run.
    pub requests: u64,
    /// The service's CPU seconds, every thread.
    pub service_s: f64,
    /// Of which on its actix workers: the request path.
    pub request_threads_s: f64,
    /// The trace receiver's CPU seconds.
    pub receiver_s: f64,
}

impl ServiceCpu {
    /// `seconds` of CPU over the measured run, in microseconds a request.
    pub fn us_per_request(&self, seconds: f64) -> f64 {
        seconds / self.requests.max(1) as f64 * 1e6
    }

    /// Microseconds of CPU a request: (the service's, its request path's, its other threads').
    pub fn per_request_us(&self) -> (f64, f64, f64) {
        (
            self.us_per_request(self.service_s),
            self.us_per_request(self.request_threads_s),
            self.us_per_request(self.service_s - self.request_threads_s),
        )
    }
}

/// The database-backed request, traced and untraced: at saturation, and at a fixed rate.
#[derive(Debug, Clone, Deserialize)]
pub struct DbBacked {
    pub request: String,
    pub traced: DbSaturated,
    pub untraced: DbSaturated,
    #[serde(default)]
    pub fixed_rate: Option<FixedRate>,
    /// Datadog's tracer alone on the same request (run (j)), when measured.
    #[serde(default)]
    pub tracer_floor: Option<TracerFloor>,
}

/// demo-service/benches/tracer_floor.rs: the request's four spans through the OpenTelemetry API
/// straight to Datadog's tracer, in one process at a fixed rate; µs of CPU a request, less the
/// paced loop's own.
#[derive(Debug, Clone, Deserialize)]
pub struct TracerFloor {
    pub rate: f64,
    pub requests: u64,
    /// Spans with a name and a kind only.
    pub bare_us: f64,
    /// Spans with the lab's attributes.
    pub attributes_us: f64,
}

/// A saturation run of the three (demo-service, inventory, PostgreSQL).
#[derive(Debug, Clone, Deserialize)]
pub struct DbSaturated {
    pub wrk: WrkRun,
    pub answered: u64,
    /// PSS of the three at the end of the run.
    pub ram_pss_mib: f64,
}

/// Groups of processes in a fixed-rate run's CPU figures (bench/demo-service.sh `rate_run`).
pub const DEMO: &str = "demo_service";
pub const INVENTORY: &str = "inventory";
pub const POSTGRES: &str = "postgres";
pub const SERVICE: &str = "service";

/// Fixed-rate runs of two systems, loaded at the same time.
#[derive(Debug, Clone, Deserialize)]
pub struct FixedRate {
    /// Requests a second asked.
    pub rate: f64,
    pub duration_s: f64,
    pub repeat: u32,
    /// `traced` and `untraced`.
    pub systems: BTreeMap<String, RateSystem>,
}

/// One system's fixed-rate runs: the CPU of each group of processes, over the requests.
#[derive(Debug, Clone, Deserialize)]
pub struct RateSystem {
    pub runs: Vec<RateRun>,
    pub requests: u64,
    /// Microseconds of CPU a request, by group of processes (`demo_service`, `inventory`,
    /// `postgres`, `receiver`; `service` for the profiler's runs).
    pub us_per_request: BTreeMap<String, f64>,
    /// The same by thread name within each group: where the CPU goes.
    #[serde(default)]
    pub us_per_request_by_thread: BTreeMap<String, BTreeMap<String, f64>>,
}

impl RateSystem {
    /// The CPU a request of the groups named, summed; None when one is missing.
    pub fn us(&self, groups: &[&str]) -> Option<f64> {
        groups
            .iter()
            .map(|g| self.us_per_request.get(*g).copied())
            .sum()
    }
}

/// One run of a fixed-rate system: the rate it got, its requests and the CPU seconds of each
/// group of processes over the run (also in the system's totals).
#[derive(Debug, Clone, Deserialize)]
pub struct RateRun {
    pub rps: f64,
    #[serde(default)]
    pub requests: u64,
    #[serde(default)]
    pub cpu: BTreeMap<String, f64>,
}

impl RateRun {
    /// The CPU a request of the groups named, µs; None when one is missing or no request.
    pub fn us(&self, groups: &[&str]) -> Option<f64> {
        if self.requests == 0 {
            return None;
        }
        let s: Option<f64> = groups.iter().map(|g| self.cpu.get(*g).copied()).sum();
        s.map(|s| s / self.requests as f64 * 1e6)
    }
}

/// How much more CPU a request `a` took than `b` in each of their runs (paired: run i of both
/// was loaded at the same time), as fractions (0.015 is 1.5% more), in run order. Runs
/// without the figures are left out.
pub fn paired_more(a: &RateSystem, b: &RateSystem, groups: &[&str]) -> Vec<f64> {
    a.runs
        .iter()
        .zip(&b.runs)
        .filter_map(|(ra, rb)| Some(ra.us(groups)? / rb.us(groups)? - 1.0))
        .collect()
}

/// demo-service with its profiler off and on, at a fixed rate.
#[derive(Debug, Clone, Deserialize)]
pub struct Profiler {
    pub request: String,
    pub rate: f64,
    pub duration_s: f64,
    pub repeat: u32,
    pub hz: u32,
    pub upload_period_s: f64,
    pub profiles_received: u64,
    /// `off` and `on`.
    pub systems: BTreeMap<String, RateSystem>,
}

// --- agent-lite -----------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
pub struct AgentLite {
    #[serde(flatten)]
    pub meta: Meta,
    pub peer_label: String,
    pub traces: Traces,
    pub dogstatsd: Dogstatsd,
    pub demo_load: DemoLoad,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Traces {
    pub connections: u32,
    pub agent_lite: Intake,
    pub peer: Intake,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Intake {
    pub blast: TraceBlast,
    pub cpu_s: f64,
    pub peak_rss_kib: u64,
    pub idle_rss_kib: u64,
}

impl Intake {
    pub fn spans_per_cpu_s(&self) -> f64 {
        self.blast.spans as f64 / self.cpu_s.max(0.01)
    }
}

/// lab-blast's output for traces.
#[derive(Debug, Clone, Deserialize)]
pub struct TraceBlast {
    pub spans: u64,
    /// Requests that failed.
    pub errors: u64,
    pub spans_per_s: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Dogstatsd {
    pub blast: DogstatsdBlast,
    pub cpu_s: f64,
    pub peak_rss_kib: u64,
}

impl Dogstatsd {
    pub fn lines_per_cpu_s(&self) -> f64 {
        self.blast.lines_processed as f64 / self.cpu_s.max(0.01)
    }
}

/// lab-blast's output for DogStatsD (with agent-lite's counters).
#[derive(Debug, Clone, Deserialize)]
pub struct DogstatsdBlast {
    pub lines_sent: u64,
    pub lines_processed: u64,
    pub lines_rejected: u64,
    pub lost_pct: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DemoLoad {
    pub wrk: WrkRun,
    pub spans_finished: serde_json::Value,
    pub spans_received: u64,
    pub dogstatsd_lines: u64,
    pub payloads_rejected: u64,
    pub cpu_s: f64,
    pub peak_rss_kib: u64,
}

// --- loadgen --------------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
pub struct Loadgen {
    #[serde(flatten)]
    pub meta: Meta,
    pub duration_s: f64,
    pub systems: LoadgenSystems,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LoadgenSystems {
    pub loadgen: Generator,
    pub wrk: Generator,
    pub locust: Generator,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Generator {
    pub label: String,
    pub run: GeneratorRun,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GeneratorRun {
    pub requests: u64,
    pub errors: u64,
    pub rps: f64,
    pub cpu_s: f64,
    pub latency_ms: Percentiles,
}

impl GeneratorRun {
    pub fn per_cpu_s(&self) -> f64 {
        self.requests as f64 / self.cpu_s.max(0.01)
    }
}

// --- collectors -----------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
pub struct Collectors {
    #[serde(flatten)]
    pub meta: Meta,
    pub containers: u32,
    pub on: CollectorSide,
    pub off: CollectorSide,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CollectorSide {
    pub cpu_pct: f64,
    pub rss_kib: u64,
    pub peak_rss_kib: u64,
    pub log_lines: u64,
}

// --- stack ----------------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
pub struct Stack {
    #[serde(flatten)]
    pub meta: Meta,
    pub up_to_first_trace_s: f64,
    pub samples: Vec<RamSample>,
    pub images: BTreeMap<String, Image>,
    #[serde(default)]
    pub base_image_bytes: Option<serde_json::Value>,
    /// Debian's PostgreSQL image (not the lab's code: outside the image-size target).
    #[serde(default)]
    pub postgres_image_bytes: Option<u64>,
    #[serde(default)]
    pub compose: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RamSample {
    pub at_s: f64,
    /// MiB per service.
    pub mib: BTreeMap<String, f64>,
}

impl RamSample {
    pub fn total(&self) -> f64 {
        self.mib.values().sum()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Image {
    pub bytes: u64,
    pub binary_bytes: u64,
}

// --- alerts ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
pub struct Alerts {
    #[serde(flatten)]
    pub meta: Meta,
    pub scenario: String,
    pub interval_s: f64,
    pub runs: Vec<AlertRun>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AlertRun {
    pub loadgen_exit: i32,
    pub phases: Vec<AlertPhase>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AlertPhase {
    pub phase: String,
    pub monitor: String,
    pub window_s: Option<f64>,
    pub evaluation_delay_s: f64,
    pub target_s: Option<f64>,
    /// None: the monitor never went Alert.
    pub latency_s: Option<f64>,
    #[serde(default)]
    pub note: String,
}

// --- the run itself ---------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
pub struct Run {
    pub seconds: f64,
    /// tests/setup and the release build, before the first stage.
    #[serde(default)]
    pub prepare_s: Option<f64>,
    #[serde(default)]
    pub stages: BTreeMap<String, StageRun>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StageRun {
    pub seconds: f64,
    pub exit: i32,
}

/// Every stage's figures found in a results folder.
#[derive(Debug, Clone, Default)]
pub struct Results {
    pub demo: Option<DemoService>,
    pub agent: Option<AgentLite>,
    pub loadgen: Option<Loadgen>,
    pub collectors: Option<Collectors>,
    pub stack: Option<Stack>,
    pub alerts: Option<Alerts>,
    pub run: Option<Run>,
}

impl Results {
    /// Reads `<dir>/data/<stage>.json` for each stage there is; a file that does not parse is
    /// an error (a stage and the report disagree), a missing one is not.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let data = dir.join("data");
        Ok(Self {
            demo: read(&data, "demo-service")?,
            agent: read(&data, "agent-lite")?,
            loadgen: read(&data, "loadgen")?,
            collectors: read(&data, "collectors")?,
            stack: read(&data, "stack")?,
            alerts: read(&data, "alerts")?,
            run: read(&data, "run")?,
        })
    }

    /// Each stage's meta, in the order the run makes them.
    pub fn metas(&self) -> Vec<&Meta> {
        [
            self.demo.as_ref().map(|s| &s.meta),
            self.agent.as_ref().map(|s| &s.meta),
            self.loadgen.as_ref().map(|s| &s.meta),
            self.collectors.as_ref().map(|s| &s.meta),
            self.stack.as_ref().map(|s| &s.meta),
            self.alerts.as_ref().map(|s| &s.meta),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

fn read<T: DeserializeOwned>(dir: &Path, stage: &str) -> anyhow::Result<Option<T>> {
    let path = dir.join(format!("{stage}.json"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    serde_json::from_str(&text)
        .map(Some)
        .with_context(|| format!("{} is not what bench/{stage}.sh writes", path.display()))
}
