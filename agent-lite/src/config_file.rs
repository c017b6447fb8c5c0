//! The configuration file, in the Datadog Agent's `datadog.yaml` layout: every option the
//! command line takes can also be written there, under the key the Agent gives it.
//!
//! Keys follow from each option's environment variable, by the Agent's own rule:
//! `DD_APM_<X>` is `apm_config.<x>`, `DD_LOGS_CONFIG_<X>` is `logs_config.<x>`, any other
//! `DD_<X>` is `<x>`; options of agent-lite's own go under `agent_lite:` by their long flag
//! name (`agent_lite.max_series`). As with the Agent, an environment variable wins over the
//! file, and a flag over both: the file only fills the variables that are not set, then the
//! command line is read again.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context as _};
use yaml_serde::Value;

/// The file key of an option, from its environment variable and long flag name.
pub fn key_of(env: &str, long: &str) -> String {
    if let Some(apm) = env.strip_prefix("DD_APM_") {
        format!("apm_config.{}", apm.to_ascii_lowercase())
    } else if let Some(logs) = env.strip_prefix("DD_LOGS_CONFIG_") {
        format!("logs_config.{}", logs.to_ascii_lowercase())
    } else if let Some(rest) = env.strip_prefix("DD_") {
        rest.to_ascii_lowercase()
    } else {
        format!("agent_lite.{}", long.replace('-', "_"))
    }
}

/// Every file key the command `cmd` knows, with the variable it sets.
pub fn known_keys(cmd: &clap::Command) -> BTreeMap<String, String> {
    cmd.get_arguments()
        .filter_map(|a| {
            let env = a.get_env()?.to_str()?.to_owned();
            if env == "AGENT_LITE_CONFIG" {
                return None;
            }
            let long = a.get_long()?;
            Some((key_of(&env, long), env))
        })
        .collect()
}

/// Reads `path` and returns the variables it sets (those already set in `env_is_set` left
/// out); a key the command does not know, or a value that is not a scalar, is an error that
/// names the file and the key.
pub fn variables(
    path: &Path,
    cmd: &clap::Command,
    env_is_set: impl Fn(&str) -> bool,
) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    let doc: Value = yaml_serde::from_str(&text)
        .with_context(|| format!("{} is not valid YAML", path.display()))?;
    let mut flat = Vec::new();
    flatten("", &doc, &mut flat).map_err(|key| {
        anyhow::anyhow!(
            "{}: {key} must be a single value (a string, number or boolean)",
            path.display()
        )
    })?;
    let known = known_keys(cmd);
    let mut out = Vec::new();
    for (key, value) in flat {
        let Some(env) = known.get(&key) else {
            bail!(
                "{}: unknown key {key}; known keys: {}",
                path.display(),
                known.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        };
        if !env_is_set(env) {
            out.push((env.clone(), value));
        }
    }
    Ok(out)
}

/// Dotted keys of every scalar; `Err(key)` for a list or another non-scalar.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) -> Result<(), String> {
    let scalar = match v {
        Value::Null => return Ok(()),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Mapping(m) => {
            for (k, v) in m {
                let k = match k {
                    Value::String(s) => s.clone(),
                    other => yaml_serde::to_string(other)
                        .map(|s| s.trim().to_owned())
                        .unwrap_or_default(),
                };
                let key = if prefix.is_empty() {
                    k
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out)?;
            }
            return Ok(());
        }
        _ => return Err(prefix.to_owned()),
    };
    if prefix.is_empty() {
        return Err("the document".into());
    }
    out.push((prefix.to_owned(), scalar));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut f, text.as_bytes()).expect("write");
        f
    }

    #[test]
    fn keys_follow_the_agents_rule() {
        assert_eq!(
            key_of("DD_APM_RECEIVER_PORT", "apm-port"),
            "apm_config.receiver_port"
        );
        assert_eq!(
            key_of("DD_DOGSTATSD_PORT", "dogstatsd-port"),
            "dogstatsd_port"
        );
        assert_eq!(
            key_of(
                "DD_LOGS_CONFIG_CONTAINER_COLLECT_ALL",
                "container-collect-all"
            ),
            "logs_config.container_collect_all"
        );
        assert_eq!(
            key_of("AGENT_LITE_MAX_SERIES", "max-series"),
            "agent_lite.max_series"
        );
        let known = known_keys(&crate::config::Cli::command());
        assert_eq!(known["hostname"], "DD_HOSTNAME");
        assert_eq!(
            known["apm_config.receiver_socket"],
            "DD_APM_RECEIVER_SOCKET"
        );
    }

    #[test]
    fn a_file_fills_what_the_environment_leaves_unset() {
        let f = write(
            "hostname: lab-laptop\napm_config:\n  receiver_port: 9126\nagent_lite:\n  max_series: 500\n",
        );
        let vars = variables(f.path(), &crate::config::Cli::command(), |env| {
            env == "DD_HOSTNAME"
        })
        .expect("loads");
        assert_eq!(
            vars,
            vec![
                ("DD_APM_RECEIVER_PORT".to_string(), "9126".to_string()),
                ("AGENT_LITE_MAX_SERIES".to_string(), "500".to_string()),
            ]
        );
    }

    #[test]
    fn mistakes_name_the_file_and_the_key() {
        let cmd = crate::config::Cli::command();
        let f = write("apm_config:\n  reciever_port: 1\n");
        let err = format!(
            "{:#}",
            variables(f.path(), &cmd, |_| false).expect_err("refused")
        );
        assert!(
            err.contains("unknown key apm_config.reciever_port"),
            "{err}"
        );
        assert!(err.contains(&f.path().display().to_string()), "{err}");
        let f = write("hostname: [a, b]\n");
        let err = format!(
            "{:#}",
            variables(f.path(), &cmd, |_| false).expect_err("refused")
        );
        assert!(err.contains("hostname must be a single value"), "{err}");
        let f = write("hostname: 'open\n");
        let err = format!(
            "{:#}",
            variables(f.path(), &cmd, |_| false).expect_err("refused")
        );
        assert!(err.contains("is not valid YAML"), "{err}");
        let err = format!(
            "{:#}",
            variables(Path::new("/nonexistent/datadog.yaml"), &cmd, |_| false)
                .expect_err("refused")
        );
        assert!(err.contains("cannot read the configuration file"), "{err}");
    }
}
