//! The public build (compose/images/Dockerfile, what `docker compose up` builds on a machine
//! with a registry) copies the repository into its build stage as `.dockerignore` lets it
//! through, then runs cargo there: every workspace member's manifest and sources must be in
//! that context, or cargo cannot even load the workspace. A member added without its
//! `.dockerignore` line broke that path once, unseen, since this machine cannot pull the
//! Rust image to build it.
//!
//! Checked with the Docker engine itself, which applies `.dockerignore`: the context goes
//! into a `FROM scratch` image (no registry, no base image) whose files are then listed.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use lab_compose_tests::{must, repo_root, require_docker, run};
use serde_json::Value;

/// Files every workspace member needs for `cargo build` to run, relative to the root: the
/// root manifest and lock file, each member's manifest and each of its targets' sources.
fn workspace_files(root: &Path) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = must(
        &cargo,
        &["metadata", "--format-version", "1", "--no-deps", "--locked"],
        &[],
        root,
        Duration::from_secs(120),
    );
    let meta: Value = serde_json::from_str(&out.stdout).expect("cargo metadata prints JSON");
    let relative = |p: &str| {
        Path::new(p)
            .strip_prefix(root)
            .unwrap_or_else(|_| panic!("{p} is outside the repository"))
            .to_string_lossy()
            .into_owned()
    };
    let mut files: BTreeSet<String> = ["Cargo.toml", "Cargo.lock"].map(String::from).into();
    for package in meta["packages"].as_array().expect("packages") {
        files.insert(relative(
            package["manifest_path"].as_str().expect("a manifest"),
        ));
        for target in package["targets"].as_array().expect("targets") {
            files.insert(relative(target["src_path"].as_str().expect("a source")));
        }
    }
    files
}

#[test]
fn the_public_build_context_holds_the_whole_workspace() {
    let root = repo_root();
    require_docker(&root);
    let needed = workspace_files(&root);

    let tag = format!("lab-context-check:{}", std::process::id());
    // The Dockerfile lies outside the repository, as the CLI allows: inside, even in an
    // ignored folder, the CLI would add it to the context, and COPY with it.
    let dir = std::env::temp_dir().join(format!("lab-context-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let dockerfile = dir.join("Dockerfile");
    std::fs::write(&dockerfile, "FROM scratch\nCOPY . /src\n").expect("writing the Dockerfile");
    let dockerfile = dockerfile.to_string_lossy().into_owned();
    let root_s = root.to_string_lossy().into_owned();
    let long = Duration::from_secs(300);
    must(
        "docker",
        &["build", "-q", "-t", &tag, "-f", &dockerfile, &root_s],
        &[],
        &root,
        long,
    );
    let container = must("docker", &["create", &tag, "/none"], &[], &root, long);
    let id = container.stdout.trim().to_owned();
    let tar = dir.join("context.tar").to_string_lossy().into_owned();
    let exported = run(
        "docker",
        &["export", "-o", &tar, &id],
        &[],
        &root,
        long,
        false,
    );
    let listed = run("tar", &["-tf", &tar], &[], &root, long, false);
    let _ = run("docker", &["rm", "-f", &id], &[], &root, long, false);
    let _ = run("docker", &["rmi", "-f", &tag], &[], &root, long, false);
    let _ = std::fs::remove_dir_all(&dir);
    let exported = exported.expect("docker export");
    assert!(
        exported.success,
        "docker export failed:\n{}",
        exported.tail()
    );
    let listed = listed.expect("tar -tf");
    assert!(listed.success, "tar -tf failed:\n{}", listed.tail());

    let in_context: BTreeSet<String> = listed
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("src/"))
        .map(|l| l.trim_end_matches('/').to_owned())
        .collect();
    let missing: Vec<&String> = needed.difference(&in_context).collect();
    assert!(
        missing.is_empty(),
        "the public build's context (.dockerignore) leaves out files cargo needs to build the \
         workspace: {missing:?}"
    );
    // What must stay out: the build output, git's objects and the fuzz corpora would make the
    // context hundreds of megabytes, and invalidate the build cache at every commit.
    let leaked: Vec<&String> = in_context
        .iter()
        .filter(|p| {
            ["target", ".git", ".venv", "fuzz/corpus", "bench/results"]
                .iter()
                .any(|x| *p == x || p.starts_with(&format!("{x}/")))
        })
        .collect();
    assert!(
        leaked.is_empty(),
        "the public build's context takes in what .dockerignore should keep out: {:?}",
        &leaked[..leaked.len().min(10)]
    );
}
