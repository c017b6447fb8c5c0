//! A flood of bad input on every port at once, from three threads for a few seconds: at the
//! trace intake (8126: garbage, truncated and oversized payloads of every version and of the
//! client stats, huge tag sets, broken HTTP), at DogStatsD (8125/udp: bad lines of every
//! kind, garbage, cut lines, datagrams over the buffer, huge tag sets) and at the API (5002:
//! queries and monitors that do not parse, bodies over the limit, broken HTTP). Afterwards
//! agent-lite still answers, the good input sent among the bad reads back exactly, and every
//! refusal is counted under its reason, exactly, in `/status` and as `datadog.agent_lite.*`.
//!
//! bad_input.rs checks each refusal's answer one at a time; this test checks that none is
//! lost or counted twice when they all come at once.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Agent, BIN};
use lab_testkit::wait_for;
use serde_json::{json, Value};

/// How long each thread sends.
const FLOOD: Duration = Duration::from_secs(3);
/// DD_APM_MAX_PAYLOAD_SIZE for the test: small, so oversized bodies are cheap to send.
const MAX_PAYLOAD: usize = 256 * 1024;
/// DogStatsD's datagram limit (the Agent's dogstatsd_buffer_size).
const DATAGRAM_MAX: usize = 8192;

/// What a sender expects agent-lite to have counted: counter name -> count.
#[derive(Default, Debug)]
struct Ledger(BTreeMap<String, u64>);

impl Ledger {
    fn add(&mut self, counter: &str, n: u64) {
        *self.0.entry(counter.to_owned()).or_default() += n;
    }

    fn merge(&mut self, other: Ledger) {
        for (k, v) in other.0 {
            self.add(&k, v);
        }
    }
}

/// splitmix64: the garbage is the same from run to run, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    fn id(&mut self) -> u64 {
        (self.next() >> 2) | 1
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Sends `bytes` on a connection of its own and reads until the server closes it; the
/// answer's status code, if one came. Write errors are ignored: a server refusing a request
/// early may close while the rest is still on its way.
fn raw(port: u16, bytes: &[u8]) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(30)));
    let _ = s.write_all(bytes);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// Not HTTP: a NUL where the method should be, then noise; hyper refuses it at once.
fn garbage_request(rng: &mut Rng) -> Vec<u8> {
    let mut g = vec![0u8];
    g.extend(rng.bytes(200));
    g.extend_from_slice(b"\r\n\r\n");
    g
}

/// A request head over hyper's limit (about 400 kB).
fn huge_head(path: &str) -> Vec<u8> {
    let mut r = format!("GET {path} HTTP/1.1\r\nHost: x\r\nX-Big: ").into_bytes();
    r.extend(std::iter::repeat_n(b'a', 600 * 1024));
    r.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    r
}

/// One v0.4 msgpack payload with one span of `service` (the layout tracers send).
fn msgpack_v04(rng: &mut Rng, service: &str) -> Vec<u8> {
    let span = json!({
        "service": service, "name": "web.request", "resource": "GET /", "type": "web",
        "trace_id": rng.id(), "span_id": rng.id(), "parent_id": 0,
        "start": now_ns(), "duration": 1_000_000, "error": 0,
        "meta": {"env": "flood"}, "metrics": {"_sampling_priority_v1": 1.0},
    });
    rmp_serde::to_vec_named(&json!([[span]])).expect("msgpack")
}

/// One v0.5 payload (string table, then spans as 12-element arrays of indexes and numbers).
fn msgpack_v05(rng: &mut Rng) -> Vec<u8> {
    let strings = ["flood-v05", "web.request", "GET /", "web", "env", "flood"];
    let meta: BTreeMap<u32, u32> = [(4, 5)].into();
    let metrics: BTreeMap<u32, f64> = BTreeMap::new();
    let span = (
        0u32,
        1u32,
        2u32,
        rng.id(),
        rng.id(),
        0u64,
        now_ns() as i64,
        1_000_000i64,
        0i32,
        meta,
        metrics,
        3u32,
    );
    rmp_serde::to_vec(&(strings, vec![vec![span]])).expect("msgpack")
}

/// A JSON v0.4 payload of one span carrying `tags` tags.
fn json_v04(rng: &mut Rng, service: &str, tags: usize) -> Vec<u8> {
    let meta: serde_json::Map<String, Value> = (0..tags)
        .map(|i| (format!("tag_{i:05}"), json!(format!("value_{i:05}"))))
        .collect();
    let span = json!({
        "service": service, "name": "web.request", "resource": "GET /", "type": "web",
        "trace_id": rng.id(), "span_id": rng.id(), "parent_id": 0,
        "start": now_ns(), "duration": 1_000_000, "meta": meta,
    });
    serde_json::to_vec(&json!([[span]])).expect("json")
}

/// Good traces sent among the bad, per service: they must all read back.
#[derive(Default)]
struct GoodTraces {
    by_service: BTreeMap<&'static str, u64>,
}

fn flood_traces(agent: &Agent, until: Instant) -> (Ledger, GoodTraces) {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    // The status, or None when the answer was lost (an oversized body: agent-lite answers
    // 413 and closes before it is all sent).
    let put = |path: &str, content_type: &str, body: Vec<u8>| -> Option<u16> {
        http.put(agent.apm_url(path))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .ok()
            .map(|r| r.status().as_u16())
    };
    let mut l = Ledger::default();
    let mut good = GoodTraces::default();
    let mut rng = Rng(1);
    let mut accept = |l: &mut Ledger, version: &str, service: &'static str| {
        l.add(&format!("traces.payloads.{version}"), 1);
        l.add("traces.received", 1);
        l.add("traces.spans", 1);
        *good.by_service.entry(service).or_default() += 1;
    };
    while Instant::now() < until {
        // Garbage: 0xc1 is the one byte msgpack never uses, so no prefix of it decodes.
        for v in ["v0.3", "v0.4", "v0.5"] {
            let mut body = vec![0xc1];
            let n = 1 + rng.below(300);
            body.extend(rng.bytes(n));
            let path = format!("/{v}/traces");
            assert_eq!(put(&path, "application/msgpack", body), Some(400));
            l.add("traces.rejected.invalid_msgpack", 1);
        }
        // Truncated: good payloads cut short.
        let whole = msgpack_v04(&mut rng, "flood-ok");
        let cut = whole[..1 + rng.below(whole.len() - 1)].to_vec();
        assert_eq!(put("/v0.4/traces", "application/msgpack", cut), Some(400));
        l.add("traces.rejected.invalid_msgpack", 1);
        let whole05 = msgpack_v05(&mut rng);
        let cut = whole05[..1 + rng.below(whole05.len() - 1)].to_vec();
        assert_eq!(put("/v0.5/traces", "application/msgpack", cut), Some(400));
        l.add("traces.rejected.invalid_msgpack", 1);
        let json = json_v04(&mut rng, "flood-ok", 3);
        let cut = json[..1 + rng.below(json.len() - 1)].to_vec();
        for v in ["v0.3", "v0.4"] {
            let path = format!("/{v}/traces");
            assert_eq!(put(&path, "application/json", cut.clone()), Some(400));
            l.add("traces.rejected.invalid_json", 1);
        }
        assert_eq!(put("/v0.5/traces", "application/json", json), Some(400));
        l.add("traces.rejected.unsupported_content_type", 1);
        // The good ones, whole.
        assert_eq!(put("/v0.4/traces", "application/msgpack", whole), Some(200));
        accept(&mut l, "v0.4", "flood-ok");
        assert_eq!(
            put("/v0.5/traces", "application/msgpack", whole05),
            Some(200)
        );
        accept(&mut l, "v0.5", "flood-v05");
        // A huge tag set that fits the payload limit: taken.
        let tags = json_v04(&mut rng, "flood-tags", 3000);
        assert!(tags.len() < MAX_PAYLOAD);
        assert_eq!(put("/v0.3/traces", "application/json", tags), Some(200));
        accept(&mut l, "v0.3", "flood-tags");
        // Oversized, with a length and chunked (the answer may be lost to the close).
        let big = vec![0x90; MAX_PAYLOAD + 1 + rng.below(1000)];
        let _ = put("/v0.4/traces", "application/msgpack", big.clone());
        l.add("traces.rejected.too_large", 1);
        let _ = put("/v0.6/stats", "application/msgpack", big);
        l.add("stats.rejected.too_large", 1);
        let mut chunked = b"PUT /v0.5/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
        for _ in 0..5 {
            chunked.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
            chunked.extend(std::iter::repeat_n(0x90u8, 64 * 1024));
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        let _ = raw(agent.apm_port, &chunked);
        l.add("traces.rejected.too_large", 1);
        // Client stats that are not msgpack.
        let mut stats = vec![0xc1];
        stats.extend(rng.bytes(50));
        assert_eq!(put("/v0.6/stats", "application/msgpack", stats), Some(400));
        l.add("stats.rejected.invalid_msgpack", 1);
        // A path no tracer uses.
        let unknown = http
            .get(agent.apm_url("/v9.9/nothing"))
            .send()
            .map(|r| r.status().as_u16())
            .ok();
        assert_eq!(unknown, Some(404));
        l.add("traces.side.unknown_path", 1);
        // Broken HTTP, refused by hyper before the app.
        assert_eq!(raw(agent.apm_port, &garbage_request(&mut rng)), Some(400));
        l.add("traces.rejected.malformed_http", 1);
        let _ = raw(agent.apm_port, &huge_head("/v0.4/traces"));
        l.add("traces.rejected.head_too_large", 1);
    }
    (l, good)
}

/// DogStatsD lines refused for a known reason.
const BAD_LINES: &[(&str, &str)] = &[
    ("lab.flood:1", "no_type"),
    ("no colon here|c", "no_value"),
    (":1|c", "empty_name"),
    ("lab.flood:1|zz", "unknown_type"),
    ("lab.flood:abc|c", "bad_value"),
    ("lab.flood:NaN|g", "bad_value"),
    ("lab.flood:1|c|@2", "bad_sample_rate"),
    ("lab.flood:1|c|T-5", "bad_timestamp"),
    ("_e{50,4}:abc|d", "bad_event"),
    ("_sc|check|7", "bad_service_check"),
    // Lines cut short, as a datagram cut by a careless client.
    ("lab.flood.trunc:12|", "unknown_type"),
    ("lab.flood.tru", "no_type"),
    ("_e{10,10}:abc", "bad_event"),
];

/// Good DogStatsD lines sent among the bad: `lab.flood.good` and `lab.flood.tags` totals.
#[derive(Default)]
struct GoodStatsd {
    good: u64,
    tags: u64,
}

fn flood_dogstatsd(agent: &Agent, until: Instant) -> (Ledger, GoodStatsd) {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let mut l = Ledger::default();
    let mut good = GoodStatsd::default();
    let mut rng = Rng(2);
    let send = |d: &[u8], l: &mut Ledger| {
        sock.send_to(d, ("127.0.0.1", agent.statsd_port))
            .expect("send");
        l.add("dogstatsd.packets", 1);
    };
    let huge_tags = |n: usize| -> String {
        let tags: Vec<String> = (0..n).map(|i| format!("t{i}:v")).collect();
        format!("lab.flood.tags:1|c|#{}", tags.join(","))
    };
    while Instant::now() < until {
        // Every bad line between good ones: each refused alone, the good kept.
        let mut lines = vec!["lab.flood.good:1|c|#src:flood".to_owned()];
        for (line, reason) in BAD_LINES {
            lines.push((*line).to_owned());
            lines.push("lab.flood.good:1|c|#src:flood".to_owned());
            l.add(&format!("dogstatsd.rejected.{reason}"), 1);
        }
        good.good += BAD_LINES.len() as u64 + 1;
        l.add("dogstatsd.metrics", BAD_LINES.len() as u64 + 1);
        send(lines.join("\n").as_bytes(), &mut l);
        // Garbage: no '|', ':' nor line break in it, so it is one line without a type.
        let mut g = b"#".to_vec();
        let n = 1 + rng.below(2000);
        g.extend(
            rng.bytes(n)
                .into_iter()
                .filter(|b| !matches!(b, b'|' | b':' | b'\n' | b'\r')),
        );
        send(&g, &mut l);
        l.add("dogstatsd.rejected.no_type", 1);
        // A huge tag set inside the datagram limit: taken.
        let tags = huge_tags(600);
        assert!(tags.len() < DATAGRAM_MAX);
        send(tags.as_bytes(), &mut l);
        good.tags += 1;
        l.add("dogstatsd.metrics", 1);
        // Datagrams over the limit (good lines, or a tag set too big), refused whole.
        let mut over = String::new();
        while over.len() <= DATAGRAM_MAX {
            over.push_str("lab.flood.over:1|c\n");
        }
        send(over.as_bytes(), &mut l);
        l.add("dogstatsd.rejected.packet_too_large", 1);
        send(huge_tags(3000).as_bytes(), &mut l);
        l.add("dogstatsd.rejected.packet_too_large", 1);
        // UDP says nothing of what arrived: wait until agent-lite has taken every datagram
        // sent so far before the next, so the kernel's buffer never overflows and the counts
        // stay exact however busy the machine is.
        let sent = l.0.get("dogstatsd.packets").copied().unwrap_or(0);
        wait_for(
            "agent-lite to take the datagrams sent",
            Duration::from_secs(30),
            || (agent.counter("dogstatsd.packets") >= sent).then_some(()),
        );
    }
    (l, good)
}

/// The reason agent-lite counts an API refusal under: the status' reason, in snake case.
fn reason_of(status: reqwest::StatusCode) -> String {
    status
        .canonical_reason()
        .map(|r| r.to_ascii_lowercase().replace([' ', '-'], "_"))
        .unwrap_or_else(|| status.as_u16().to_string())
}

fn flood_api(agent: &Agent, until: Instant) -> Ledger {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let mut l = Ledger::default();
    let mut rng = Rng(3);
    let now = now_ns() / 1_000_000_000;
    // Sends a request; a client error is counted by its reason, and must be `want`.
    let check = |l: &mut Ledger, req: reqwest::blocking::RequestBuilder, want: u16| {
        let res = req.send().expect("the API answers");
        let status = res.status();
        assert_eq!(status.as_u16(), want, "{}", res.text().unwrap_or_default());
        if status.is_client_error() {
            l.add(&format!("api.rejected.{}", reason_of(status)), 1);
        }
    };
    let query = |q: &str| {
        http.get(agent.api_url("/api/v1/query")).query(&[
            ("from", (now - 600).to_string()),
            ("to", (now + 60).to_string()),
            ("query", q.to_owned()),
        ])
    };
    while Instant::now() < until {
        check(&mut l, query("avg:((("), 400);
        check(&mut l, query("avg:lab.x{a:b} by {"), 400);
        let noise: String = rng
            .bytes(40)
            .iter()
            .map(|b| char::from(b' ' + b % 94))
            .collect();
        let res = query(&noise).send().expect("the API answers");
        if res.status().is_client_error() {
            l.add(&format!("api.rejected.{}", reason_of(res.status())), 1);
        }
        check(&mut l, http.get(agent.api_url("/api/v1/query")), 400);
        check(
            &mut l,
            http.get(agent.api_url("/api/v1/query")).query(&[
                ("from", "100"),
                ("to", "50"),
                ("query", "avg:a{*}"),
            ]),
            400,
        );
        // A big tag set in a query's scope is answered (nothing matches); a huge one is
        // refused (queries are bounded at 4 kB).
        let scope: Vec<String> = (0..600).map(|i| format!("t{i}:v")).collect();
        check(
            &mut l,
            query(&format!("sum:lab.flood.good{{{}}}", scope[..100].join(","))),
            200,
        );
        check(
            &mut l,
            query(&format!("sum:lab.flood.good{{{}}}", scope.join(","))),
            400,
        );
        // Monitors: not JSON, cut JSON, not a monitor, a monitor with a bad query, too big.
        let monitor = json!({
            "name": "flood", "type": "query alert",
            "query": "avg(last_5m):avg:lab.x{*} > ",
            "options": {"thresholds": {"critical": 1}},
        })
        .to_string();
        for body in [
            String::from_utf8_lossy(&rng.bytes(100)).into_owned(),
            monitor[..monitor.len() / 2].to_owned(),
            "[1, 2, 3]".to_owned(),
            monitor.clone(),
        ] {
            for path in ["/api/v1/monitor", "/api/v1/monitor/validate"] {
                check(
                    &mut l,
                    http.post(agent.api_url(path))
                        .header("Content-Type", "application/json")
                        .body(body.clone()),
                    400,
                );
            }
        }
        check(
            &mut l,
            http.post(agent.api_url("/api/v1/monitor")).body(monitor),
            400,
        );
        // Over the API's 2 MB body limit (the answer may be lost to the close).
        let big = format!("{{\"name\": \"{}\"}}", "x".repeat(3 << 20));
        let _ = http
            .post(agent.api_url("/api/v1/monitor"))
            .header("Content-Type", "application/json")
            .body(big)
            .send();
        l.add("api.rejected.payload_too_large", 1);
        // Ids that are not ids, or of nothing.
        check(&mut l, http.get(agent.api_url("/api/v1/monitor/abc")), 400);
        check(
            &mut l,
            http.get(agent.api_url("/api/v1/monitor/987654321")),
            404,
        );
        check(&mut l, http.get(agent.api_url("/api/v0/traces/xyz")), 400);
        check(&mut l, http.get(agent.api_url("/api/v0/traces/12345")), 404);
        check(&mut l, http.delete(agent.api_url("/status")), 405);
        check(&mut l, http.get(agent.api_url("/no/such/page")), 404);
        // Broken HTTP, refused by hyper before the app.
        assert_eq!(raw(agent.api_port, &garbage_request(&mut rng)), Some(400));
        l.add("api.rejected.malformed_http", 1);
        let _ = raw(agent.api_port, &huge_head("/status"));
        l.add("api.rejected.head_too_large", 1);
        let long_uri = format!(
            "GET /api/v1/query?query={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "a".repeat(100 * 1024)
        );
        let _ = raw(agent.api_port, long_uri.as_bytes());
        l.add("api.rejected.head_too_large", 1);
    }
    l
}

fn total(agent: &Agent, query: &str) -> f64 {
    agent.totals(query).iter().map(|(_, v)| v).sum()
}

#[test]
fn a_flood_of_bad_input_on_every_port_is_survived_and_every_refusal_counted() {
    let agent = Agent::start(&[
        ("DD_APM_MAX_PAYLOAD_SIZE", MAX_PAYLOAD.to_string()),
        // Nothing but the flood writes series or counters.
        ("AGENT_LITE_HOST_METRICS", "false".into()),
        ("AGENT_LITE_CONTAINER_METRICS", "false".into()),
        ("AGENT_LITE_CONTAINER_LOGS", "false".into()),
    ]);
    let started = Instant::now();
    let until = started + FLOOD;
    let (expected, good_traces, good_statsd) = std::thread::scope(|s| {
        let traces = s.spawn(|| flood_traces(&agent, until));
        let statsd = s.spawn(|| flood_dogstatsd(&agent, until));
        let api = s.spawn(|| flood_api(&agent, until));
        let (mut l, good_traces) = traces.join().expect("the trace flood");
        let (statsd_l, good_statsd) = statsd.join().expect("the DogStatsD flood");
        l.merge(statsd_l);
        l.merge(api.join().expect("the API flood"));
        (l, good_traces, good_statsd)
    });
    println!("flood of {:.1?}: {:#?}", started.elapsed(), expected.0);

    // Still answering, on every port and through the CLI.
    let info = agent
        .http
        .get(agent.apm_url("/info"))
        .send()
        .expect("/info answers after the flood");
    assert!(info.status().is_success());
    let (status, _) = agent.get("/status");
    assert_eq!(status, 200);
    let out = std::process::Command::new(BIN)
        .args(["status", "--url", &agent.api_url("")])
        .output()
        .expect("agent-lite status");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("dogstatsd.rejected.no_type"));

    // The good input among the bad reads back exactly.
    agent.wait_total(
        "sum:lab.flood.good{src:flood}.as_count()",
        good_statsd.good as f64,
    );
    agent.wait_total("sum:lab.flood.tags{*}.as_count()", good_statsd.tags as f64);
    assert_eq!(total(&agent, "sum:lab.flood.over{*}.as_count()"), 0.0);
    for (service, n) in &good_traces.by_service {
        agent.wait_total(
            &format!("sum:trace.web.request.hits{{service:{service}}}.as_count()"),
            *n as f64,
        );
    }
    let (_, tags) = agent.get("/api/v0/traces?service=flood-tags&limit=1");
    let id = tags["traces"][0]["trace_id"]
        .as_str()
        .expect("a trace with a huge tag set is searchable")
        .to_owned();
    let (_, trace) = agent.get(&format!("/api/v0/traces/{id}"));
    assert_eq!(
        trace["spans"][0]["meta"]
            .as_object()
            .map(serde_json::Map::len),
        Some(3000),
        "every tag of the huge set is kept"
    );

    // Every refusal, counted exactly under its reason; nothing refused that was not sent.
    let (_, status) = agent.get("/status");
    let counters = status["counters"].as_object().expect("counters").clone();
    let mut wrong = Vec::new();
    for (name, want) in &expected.0 {
        let got = counters.get(name).and_then(Value::as_u64).unwrap_or(0);
        if got != *want {
            wrong.push(format!("{name}: counted {got}, sent {want}"));
        }
    }
    for (name, got) in &counters {
        if name.contains(".rejected.") && !expected.0.contains_key(name) {
            wrong.push(format!("{name}: counted {got}, none sent"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}\nall counters: {counters:#?}");

    // The same counts as agent-lite's own metrics (written every 10 s).
    let rejected: Vec<(&String, u64)> = expected
        .0
        .iter()
        .filter(|(k, _)| k.contains(".rejected."))
        .map(|(k, v)| (k, *v))
        .collect();
    wait_for(
        "the refusals as datadog.agent_lite.* metrics",
        Duration::from_secs(40),
        || {
            rejected
                .iter()
                .all(|(name, want)| {
                    let v = agent.query(&format!("max:datadog.agent_lite.{name}{{host:lab}}"));
                    let last = v["series"][0]["pointlist"]
                        .as_array()
                        .and_then(|p| p.iter().rev().find_map(|p| p[1].as_f64()));
                    last == Some(*want as f64)
                })
                .then_some(())
        },
    );
}
