//! The lab's containers, as Compose resolves compose.yaml (alone, with compose/offline.yaml,
//! and with the `datadog` profile), are hardened as the README says: every lab container runs
//! as a non-root user (in compose.yaml and in its image's Dockerfile stage), with a read-only
//! root file system, no capability (`cap_drop: [ALL]`, none added), no-new-privileges, memory
//! and process limits and bounded logs; host paths and the Docker socket are mounted
//! read-only; every published port is bound to 127.0.0.1; no container shares the host's
//! network or IPC, and only loadgen its process list (for the crash; README, "The Docker
//! socket").
//!
//! Only Compose's `config` runs, no engine: seconds, so it is a normal test. The real Agent of
//! the datadog profile runs as Datadog ships it (root, writable file system: their image, their
//! documented setup); for it only the mounts and ports are checked.
//!
//! Uses `docker compose config --format json` (Compose v2), else `docker-compose config`
//! (1.29, YAML, which has no JSON output), and fails, saying why, with neither.

use std::path::Path;
use std::time::Duration;

use lab_compose_tests::{repo_root, run, ComposeTool};
use serde_json::Value;

/// The lab's own containers: these must be hardened fully.
const LAB: [&str; 5] = [
    "agent-lite",
    "demo-service",
    "loadgen",
    "inventory",
    "postgres",
];

/// `compose config` of `files` (and `profile`), as JSON whatever the Compose.
fn config(root: &Path, tool: &ComposeTool, files: &[&str], profile: Option<&str>) -> Value {
    // An empty env file: a developer's .env (other ports, a key) must not change the result.
    let env_file = root.join("target/tmp/hardening.env");
    std::fs::create_dir_all(env_file.parent().expect("a parent")).expect("target/tmp");
    std::fs::write(&env_file, "").expect("empty env file");
    let env_file = env_file.to_string_lossy().into_owned();
    let mut args: Vec<&str> = tool.prefix.iter().map(String::as_str).collect();
    args.extend(["--env-file", &env_file, "-p", "labhardening"]);
    for f in files {
        args.extend(["-f", f]);
    }
    if let Some(p) = profile {
        args.extend(["--profile", p]);
    }
    let v2 = tool.prefix.first().is_some_and(|p| p == "compose");
    // docker-compose 1.29 refuses a build context that does not exist, and offline.yaml's is
    // made by compose/build-offline.sh: it reads the files from a project folder of its own
    // holding that path (the resolved paths are then under it; only the Dockerfiles' are used
    // below, and they are taken from the repository).
    let project_dir = root.join("target/tmp/hardening-project");
    let project_dir = project_dir.to_string_lossy().into_owned();
    if !v2 {
        std::fs::create_dir_all(Path::new(&project_dir).join("target/lab-images/context"))
            .expect("a project folder");
        args.extend(["--project-directory", &project_dir]);
    }
    args.push("config");
    if v2 {
        args.extend(["--format", "json"]);
    }
    let out = run(
        &tool.program,
        &args,
        &[],
        root,
        Duration::from_secs(60),
        false,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.success,
        "`{} {}` failed:\n{}",
        tool.program,
        args.join(" "),
        out.tail()
    );
    if v2 {
        serde_json::from_str(&out.stdout).expect("compose config --format json prints JSON")
    } else {
        yaml_serde::from_str(&out.stdout).expect("docker-compose config prints YAML")
    }
}

/// A bind mount: (host source, container target, read-only), from the short (`a:b:ro`) or
/// the long syntax. Named volumes are None.
fn bind_mount(v: &Value) -> Option<(String, String, bool)> {
    if let Some(s) = v.as_str() {
        let parts: Vec<&str> = s.split(':').collect();
        let (src, dst, mode) = match parts.as_slice() {
            [src, dst] => (*src, *dst, ""),
            [src, dst, mode] => (*src, *dst, *mode),
            _ => panic!("a volume of an unknown form: {s}"),
        };
        if !src.starts_with('/') && !src.starts_with('.') {
            return None;
        }
        let ro = mode.split(',').any(|m| m == "ro");
        return Some((src.to_owned(), dst.to_owned(), ro));
    }
    if v["type"] != "bind" {
        return None;
    }
    Some((
        v["source"].as_str().unwrap_or("").to_owned(),
        v["target"].as_str().unwrap_or("").to_owned(),
        v["read_only"] == true,
    ))
}

/// A published port: (host address, description), from the short (`127.0.0.1:80:80/tcp`)
/// or the long syntax. A port only exposed to the other containers is None.
fn published(p: &Value) -> Option<(String, String)> {
    if let Some(s) = p.as_str() {
        let spec = s.split('/').next().unwrap_or(s);
        let parts: Vec<&str> = spec.split(':').collect();
        return match parts.as_slice() {
            [_container] => Some((String::new(), s.to_owned())),
            [_host, _container] => Some((String::new(), s.to_owned())),
            [ip, _host, _container] => Some(((*ip).to_owned(), s.to_owned())),
            _ => panic!("a port of an unknown form: {s}"),
        };
    }
    if p["published"].is_null() && p["host_ip"].is_null() {
        return None;
    }
    Some((
        p["host_ip"].as_str().unwrap_or("").to_owned(),
        p.to_string(),
    ))
}

/// The USER of each stage of a Dockerfile: stage name -> user.
fn dockerfile_users(path: &Path) -> Vec<(String, Option<String>)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut stages: Vec<(String, Option<String>)> = Vec::new();
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["FROM", .., "AS" | "as", name] => stages.push(((*name).to_owned(), None)),
            ["FROM", ..] => stages.push((String::new(), None)),
            ["USER", user] => {
                if let Some(last) = stages.last_mut() {
                    last.1 = Some((*user).to_owned());
                }
            }
            _ => {}
        }
    }
    stages
}

/// Root is uid 0 (or the name root), whatever the group.
fn is_root(user: &str) -> bool {
    let uid = user.split(':').next().unwrap_or("");
    uid.is_empty() || uid == "0" || uid == "root"
}

/// The Dockerfile a service's image is built from, in the repository.
fn dockerfile_of(root: &Path, service: &Value) -> std::path::PathBuf {
    let build = &service["build"];
    let context = build["context"].as_str().unwrap_or("");
    let dockerfile = build["dockerfile"].as_str().unwrap_or("Dockerfile");
    if context.ends_with("target/lab-images/context") {
        // compose/build-offline.sh copies compose/images/offline.Dockerfile there.
        return root.join("compose/images/offline.Dockerfile");
    }
    // compose.yaml's context is the repository, the project folder.
    root.join(dockerfile)
}

fn check_lab_service(root: &Path, what: &str, name: &str, s: &Value, problems: &mut Vec<String>) {
    let mut fail = |p: String| problems.push(format!("{what}: {name}: {p}"));
    // Non-root, in compose.yaml and in the image itself (run without compose, as with
    // `docker run`, it must not be root either).
    let user = s["user"].as_str().unwrap_or("");
    let dockerfile = dockerfile_of(root, s);
    let target = s["build"]["target"].as_str().unwrap_or("");
    let image_user = dockerfile_users(&dockerfile)
        .into_iter()
        .find(|(stage, _)| stage == target)
        .and_then(|(_, u)| u);
    match &image_user {
        Some(u) if !is_root(u) => {}
        other => fail(format!(
            "stage {target:?} of {} runs as {other:?}, not a non-root USER",
            dockerfile.display()
        )),
    }
    let effective = if user.is_empty() {
        image_user.unwrap_or_default()
    } else {
        user.to_owned()
    };
    if is_root(&effective) {
        fail(format!("runs as {effective:?}"));
    }
    if s["read_only"] != true {
        fail("root file system not read-only".into());
    }
    let dropped: Vec<&str> = s["cap_drop"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !dropped.contains(&"ALL") {
        fail(format!("cap_drop is {dropped:?}, not [ALL]"));
    }
    if s["cap_add"].as_array().is_some_and(|a| !a.is_empty()) {
        fail(format!("capabilities added: {}", s["cap_add"]));
    }
    if s["privileged"] == true {
        fail("privileged".into());
    }
    let opts: Vec<&str> = s["security_opt"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !opts
        .iter()
        .any(|o| o.replace('=', ":") == "no-new-privileges:true")
    {
        fail(format!("no no-new-privileges: {opts:?}"));
    }
    // Limits: memory and processes for each, and bounded logs.
    if s["mem_limit"].is_null() {
        fail("no memory limit".into());
    }
    if s["pids_limit"].is_null() {
        fail("no process limit".into());
    }
    let log = &s["logging"];
    if log["driver"] != "json-file" || log["options"]["max-size"].is_null() {
        fail(format!("logs not bounded: {log}"));
    }
    // Host namespaces: only loadgen sees the host's processes (to SIGKILL demo-service's for
    // the crash, README "The Docker socket"); none shares the host's network or IPC.
    for key in ["network_mode", "ipc"] {
        if s[key] == "host" {
            fail(format!("{key}: host"));
        }
    }
    if s["pid"] == "host" && name != "loadgen" {
        fail("pid: host".into());
    }
}

/// For every service, the lab's and the real Agent: host paths and the socket read-only,
/// ports on 127.0.0.1 only.
fn check_mounts_and_ports(what: &str, name: &str, s: &Value, problems: &mut Vec<String>) {
    for v in s["volumes"].as_array().into_iter().flatten() {
        if let Some((src, dst, ro)) = bind_mount(v) {
            if !ro {
                problems.push(format!(
                    "{what}: {name}: host path {src} mounted read-write at {dst}"
                ));
            }
        }
    }
    for p in s["ports"].as_array().into_iter().flatten() {
        if let Some((ip, shown)) = published(p) {
            if ip != "127.0.0.1" {
                problems.push(format!(
                    "{what}: {name}: port {shown} published on {:?}, not 127.0.0.1",
                    if ip.is_empty() {
                        "every interface"
                    } else {
                        &ip
                    }
                ));
            }
        }
    }
}

#[test]
fn every_container_is_hardened_as_compose_resolves_it() {
    let root = repo_root();
    let tool = ComposeTool::detect(&root);
    println!("compose: {}", tool.version);
    let mut problems = Vec::new();
    for (what, files, profile) in [
        ("compose.yaml", vec!["compose.yaml"], None),
        (
            "compose.yaml + compose/offline.yaml",
            vec!["compose.yaml", "compose/offline.yaml"],
            None,
        ),
        (
            "compose.yaml --profile datadog",
            vec!["compose.yaml"],
            Some("datadog"),
        ),
    ] {
        let cfg = config(&root, &tool, &files, profile);
        let services = cfg["services"].as_object().expect("services");
        for name in LAB {
            let s = services
                .get(name)
                .unwrap_or_else(|| panic!("{what} has no service {name}"));
            check_lab_service(&root, what, name, s, &mut problems);
        }
        for (name, s) in services {
            check_mounts_and_ports(what, name, s, &mut problems);
        }
        if profile == Some("datadog") {
            assert!(
                services.contains_key("datadog-agent"),
                "{what} has no datadog-agent"
            );
        }
    }
    // The offline images are built from the same stages: check every stage of both
    // Dockerfiles runs as non-root (the build stage apart, which never runs in the lab).
    for file in [
        "compose/images/Dockerfile",
        "compose/images/offline.Dockerfile",
    ] {
        for (stage, user) in dockerfile_users(&root.join(file)) {
            if stage == "build" {
                continue;
            }
            if user.as_deref().is_none_or(is_root) {
                problems.push(format!(
                    "{file}: stage {stage:?} runs as {user:?}, not a non-root USER"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The checks above catch what they claim to: a service published on every interface,
/// mounting a host path read-write and running as root is refused on each count.
#[test]
fn the_checks_refuse_an_unhardened_service() {
    let root = repo_root();
    let bad: Value = serde_json::json!({
        "user": "0:0",
        "build": {"context": root.join("target/lab-images/context").to_string_lossy(), "target": "demo-service"},
        "cap_add": ["NET_ADMIN"],
        "volumes": ["/var/run/docker.sock:/var/run/docker.sock", {"type": "bind", "source": "/", "target": "/host"}],
        "ports": ["8080:8080", {"host_ip": "0.0.0.0", "published": "5002", "target": 5002}],
        "network_mode": "host",
    });
    let mut problems = Vec::new();
    check_lab_service(&root, "test", "demo-service", &bad, &mut problems);
    check_mounts_and_ports("test", "demo-service", &bad, &mut problems);
    let text = problems.join("\n");
    for expected in [
        "runs as \"0:0\"",
        "root file system not read-only",
        "cap_drop is []",
        "capabilities added",
        "no no-new-privileges",
        "no memory limit",
        "no process limit",
        "logs not bounded",
        "network_mode: host",
        "host path /var/run/docker.sock mounted read-write",
        "host path / mounted read-write",
        "port 8080:8080 published on \"every interface\"",
        "published on \"0.0.0.0\"",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
}
