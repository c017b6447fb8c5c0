//! Container actions through the Docker Engine API (compose mode): containers are found by
//! their compose service label, so a scenario says `service = "demo-service"` whatever the
//! project is called. Everything is checked before the run starts: the Engine answers, each
//! service named has one container, and a crash can reach its process.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use anyhow::{bail, Context as _};
use bollard::query_parameters::{
    InspectContainerOptions, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    RestartContainerOptionsBuilder, StartContainerOptions, StopContainerOptionsBuilder,
};
use bollard::Docker;

use crate::scenario::{ContainerVerb, Scenario};

pub const SERVICE_LABEL: &str = "com.docker.compose.service";
pub const PROJECT_LABEL: &str = "com.docker.compose.project";
/// Seconds Docker gives a container to stop before it kills it.
const STOP_GRACE: i32 = 10;

#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    pub name: String,
    /// The main process as this host sees it, when a crash can signal it.
    pub crash_pid: Option<i32>,
}

pub struct DockerChaos {
    docker: Docker,
    project: Option<String>,
    targets: HashMap<String, Target>,
}

/// Where the Engine is looked for, for messages.
fn engine_address() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

impl DockerChaos {
    /// Connects and resolves every service the scenario acts on; the error says what to do.
    pub async fn prepare(
        s: &Scenario,
        project: Option<String>,
    ) -> anyhow::Result<(Self, Vec<String>)> {
        let uses: Vec<String> = s
            .phases
            .iter()
            .flat_map(|p| {
                p.containers
                    .iter()
                    .map(move |c| format!("{:?} {} in phase '{}'", c.action, c.service, p.name))
                    .chain(p.agent_outage.iter().map(move |o| {
                        format!("agent outage ({}) in phase '{}'", o.service, p.name)
                    }))
            })
            .collect();
        let docker = connect().await.map_err(|e| {
            anyhow::anyhow!(
                "scenario '{}' acts on containers ({}), which needs the Docker API of a compose \
                 stack, and {} does not answer: {e:#}. Start the lab with `docker compose up` \
                 (or set DOCKER_HOST), or pass --skip-docker to run without these actions.",
                s.name,
                uses.join("; ").to_lowercase(),
                engine_address()
            )
        })?;
        // In compose mode loadgen's own container says which project it belongs to: a second
        // lab on the same engine (an end-to-end test beside a student's) is left alone.
        let project = match project {
            Some(p) => Some(p),
            None => own_project(&docker).await,
        };
        let mut me = Self {
            docker,
            project,
            targets: HashMap::new(),
        };
        let mut warnings = Vec::new();
        let mut services = BTreeSet::new();
        let mut crashes = BTreeSet::new();
        for p in &s.phases {
            for c in &p.containers {
                services.insert(c.service.clone());
                if c.action == ContainerVerb::Crash {
                    crashes.insert(c.service.clone());
                }
            }
            if let Some(o) = &p.agent_outage {
                services.insert(o.service.clone());
            }
        }
        for service in services {
            let mut target = me.find(&service).await?;
            if crashes.contains(&service) {
                match me.crash_pid(&target.id).await {
                    Ok((pid, restart_policy)) => {
                        target.crash_pid = Some(pid);
                        if matches!(restart_policy.as_deref(), None | Some("") | Some("no")) {
                            warnings.push(format!(
                                "{service} has no restart policy: after the crash it stays down until loadgen starts it again"
                            ));
                        }
                    }
                    Err(why) => warnings.push(format!(
                        "crash of {service}: {why}; loadgen uses Docker's kill and start instead, \
                         which Docker counts as a manual stop (the restart count will not grow)"
                    )),
                }
            }
            me.targets.insert(service, target);
        }
        Ok((me, warnings))
    }

    async fn find(&self, service: &str) -> anyhow::Result<Target> {
        let mut labels = vec![format!("{SERVICE_LABEL}={service}")];
        if let Some(p) = &self.project {
            labels.push(format!("{PROJECT_LABEL}={p}"));
        }
        let filters = HashMap::from([("label".to_owned(), labels)]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .context("listing containers")?;
        let project_note = self
            .project
            .as_ref()
            .map(|p| format!(" in compose project {p}"))
            .unwrap_or_default();
        match list.as_slice() {
            [] => bail!(
                "no container of compose service {service}{project_note} (label {SERVICE_LABEL}={service}): is the lab's compose stack up?"
            ),
            [one] => Ok(Target {
                id: one.id.clone().unwrap_or_default(),
                name: one
                    .names
                    .as_ref()
                    .and_then(|n| n.first())
                    .map(|n| n.trim_start_matches('/').to_owned())
                    .unwrap_or_else(|| service.to_owned()),
                crash_pid: None,
            }),
            many => {
                let projects: BTreeSet<String> = many
                    .iter()
                    .filter_map(|c| c.labels.as_ref()?.get(PROJECT_LABEL).cloned())
                    .collect();
                bail!(
                    "{} containers of compose service {service}{project_note} (projects: {}): choose one with --compose-project",
                    many.len(),
                    projects.into_iter().collect::<Vec<_>>().join(", ")
                )
            }
        }
    }

    /// The container's main process, if this process can send it a signal: loadgen runs on
    /// the Docker host (not in a VM like Docker Desktop's) with the right to signal it.
    async fn crash_pid(&self, id: &str) -> Result<(i32, Option<String>), String> {
        let inspect = self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| format!("cannot inspect it: {e}"))?;
        let policy = inspect
            .host_config
            .as_ref()
            .and_then(|h| h.restart_policy.as_ref())
            .and_then(|r| r.name.as_ref())
            .map(|n| n.to_string());
        let pid = inspect
            .state
            .as_ref()
            .and_then(|s| s.pid)
            .filter(|p| *p > 0)
            .ok_or("it is not running")?;
        let pid = i32::try_from(pid).map_err(|_| format!("pid {pid} out of range"))?;
        // Its process must be visible here: same pid namespace as the Docker host.
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).map_err(|_| {
            format!("its process (pid {pid} on the Docker host) is not visible from here")
        })?;
        let expected = inspect
            .path
            .as_deref()
            .and_then(|p| p.rsplit('/').next())
            .unwrap_or("");
        if !expected.is_empty()
            && !expected.starts_with(comm.trim())
            && !comm.trim().starts_with(expected)
        {
            return Err(format!(
                "pid {pid} here runs {:?}, not the container's {expected:?}: loadgen is not on the Docker host",
                comm.trim()
            ));
        }
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
            .map_err(|e| format!("no right to signal its process (pid {pid}): {e}"))?;
        Ok((pid, policy))
    }

    fn target(&self, service: &str) -> anyhow::Result<&Target> {
        self.targets
            .get(service)
            .with_context(|| format!("{service} was not prepared"))
    }

    /// Does `verb` to `service`'s container; the text says what was done.
    pub async fn act(&self, verb: ContainerVerb, service: &str) -> anyhow::Result<String> {
        let t = self.target(service)?;
        let d = &self.docker;
        match verb {
            ContainerVerb::Kill => {
                let o = KillContainerOptionsBuilder::default()
                    .signal("SIGKILL")
                    .build();
                d.kill_container(&t.id, Some(o)).await?;
                Ok(format!("killed {} (SIGKILL through Docker)", t.name))
            }
            ContainerVerb::Crash => match t.crash_pid {
                Some(pid) => {
                    // The pid may have changed since the check: a restart in between.
                    let pid = self.current_pid(&t.id).await.unwrap_or(pid);
                    nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    )
                    .with_context(|| format!("SIGKILL to pid {pid}"))?;
                    Ok(format!(
                        "crashed {} (SIGKILL to its process, pid {pid})",
                        t.name
                    ))
                }
                None => {
                    let o = KillContainerOptionsBuilder::default()
                        .signal("SIGKILL")
                        .build();
                    d.kill_container(&t.id, Some(o)).await?;
                    Ok(format!("killed {} (SIGKILL through Docker, as the crash could not reach its process)", t.name))
                }
            },
            ContainerVerb::Restart => {
                let o = RestartContainerOptionsBuilder::default()
                    .t(STOP_GRACE)
                    .build();
                d.restart_container(&t.id, Some(o)).await?;
                Ok(format!("restarted {}", t.name))
            }
            ContainerVerb::Stop => {
                let o = StopContainerOptionsBuilder::default().t(STOP_GRACE).build();
                d.stop_container(&t.id, Some(o)).await?;
                Ok(format!("stopped {}", t.name))
            }
            ContainerVerb::Start => {
                d.start_container(&t.id, None::<StartContainerOptions>)
                    .await?;
                Ok(format!("started {}", t.name))
            }
        }
    }

    /// Whether a crash of `service` will be brought back by Docker itself.
    pub fn crash_reaches_process(&self, service: &str) -> bool {
        self.targets
            .get(service)
            .is_some_and(|t| t.crash_pid.is_some())
    }

    /// Starts `service`'s container unless it already runs.
    pub async fn ensure_running(&self, service: &str) -> anyhow::Result<Option<String>> {
        let t = self.target(service)?;
        let running = self
            .docker
            .inspect_container(&t.id, None::<InspectContainerOptions>)
            .await?
            .state
            .and_then(|s| s.running)
            .unwrap_or(false);
        if running {
            return Ok(None);
        }
        self.act(ContainerVerb::Start, service).await.map(Some)
    }

    async fn current_pid(&self, id: &str) -> Option<i32> {
        let inspect = self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .ok()?;
        inspect
            .state
            .and_then(|s| s.pid)
            .and_then(|p| i32::try_from(p).ok())
            .filter(|p| *p > 0)
    }
}

/// The compose project of the container loadgen runs in, if it runs in one: the container
/// whose hostname is ours (Docker names a container's host after its id).
async fn own_project(docker: &Docker) -> Option<String> {
    let hostname = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())?;
    let inspect = docker
        .inspect_container(&hostname, None::<InspectContainerOptions>)
        .await
        .ok()?;
    let config = inspect.config?;
    if config.hostname.as_deref() != Some(hostname.as_str()) {
        return None;
    }
    config.labels?.get(PROJECT_LABEL).cloned()
}

async fn connect() -> anyhow::Result<Docker> {
    let docker = Docker::connect_with_local_defaults()
        .context("no Docker socket")?
        .with_timeout(Duration::from_secs(20));
    // bollard speaks a newer API than many engines (Debian's 20.10 stops at 1.41).
    let docker = docker.negotiate_version().await.context("no answer")?;
    docker.ping().await.context("no answer to ping")?;
    Ok(docker)
}
