//! `system.disk.*` per partition as the Agent's disk check reports it: total, used and free
//! in KiB, `in_use` as a fraction, tagged `device:` and `device_name:`. Only file systems on a
//! device are measured: the types /proc/filesystems lists without `nodev` (psutil's rule,
//! which the Agent's disk check kept), so proc, tmpfs, overlay, cgroup and FUSE mounts such
//! as Docker's fuse-overlayfs layers are left out.

use std::collections::BTreeSet;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use procfs_core::{FromBufRead, MountEntry};

use super::HostPaths;
use crate::collectors::batch::Batch;

/// Device-backed types, when /proc/filesystems cannot be read.
const KNOWN_DEVICE_FS: &[&str] = &[
    "btrfs", "exfat", "ext2", "ext3", "ext4", "f2fs", "fuseblk", "jfs", "ntfs", "ntfs3",
    "reiserfs", "squashfs", "vfat", "xfs", "zfs",
];

/// Device-backed types the Agent still leaves out by default.
const EXCLUDED_FS: &[&str] = &["iso9660", "tracefs"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub device: String,
    pub mount_point: String,
    pub fs_type: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub total_bytes: u64,
    pub free_bytes: u64,
    pub used_bytes: u64,
}

pub fn collect(paths: &HostPaths, batch: &mut Batch) -> anyhow::Result<()> {
    let mounts = read_mounts(paths)?;
    let device_fs = read_device_fs(&paths.proc_root);
    let parts = partitions(&mounts, &device_fs);
    let mut measured = 0;
    let mut last_error = None;
    for p in &parts {
        let at = under_root(&paths.host_root, &p.mount_point);
        match statvfs(&at) {
            Ok(u) => {
                measured += 1;
                write(batch, p, &u);
            }
            Err(e) => last_error = Some(e),
        }
    }
    match last_error {
        Some(e) if measured == 0 => Err(e.context(format!(
            "none of {} file systems could be measured under {} (HOST_ROOT)",
            parts.len(),
            paths.host_root.display()
        ))),
        _ => Ok(()),
    }
}

/// The host's mount table. In a container, /proc/self is the container's own, so the host's
/// is that of its init (`<HOST_PROC>/1/mounts`).
fn read_mounts(paths: &HostPaths) -> anyhow::Result<Vec<MountEntry>> {
    let on_host = paths.proc_root == Path::new("/proc");
    let candidates = if on_host {
        ["self/mounts", "1/mounts"]
    } else {
        ["1/mounts", "self/mounts"]
    };
    let mut errors = Vec::new();
    for rel in candidates {
        let path = paths.proc_root.join(rel);
        match std::fs::File::open(&path) {
            Ok(f) => {
                return Vec::<MountEntry>::from_buf_read(BufReader::new(f))
                    .with_context(|| format!("parsing {}", path.display()))
            }
            Err(e) => errors.push(format!("{}: {e}", path.display())),
        }
    }
    bail!("no mount table readable ({})", errors.join("; "))
}

fn read_device_fs(proc_root: &Path) -> BTreeSet<String> {
    match std::fs::read_to_string(proc_root.join("filesystems")) {
        Ok(text) => parse_device_fs(&text),
        Err(_) => KNOWN_DEVICE_FS.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// File system types of /proc/filesystems not marked `nodev`; ZFS, which says nodev but
/// lives on disks, as psutil counts it.
pub fn parse_device_fs(text: &str) -> BTreeSet<String> {
    let mut types: BTreeSet<String> = text
        .lines()
        .filter(|l| !l.starts_with("nodev"))
        .map(|l| l.trim().to_owned())
        .filter(|fs| !fs.is_empty())
        .collect();
    types.insert("zfs".into());
    types
}

/// The partitions worth measuring, one per device (a device mounted twice, as bind mounts
/// make it, would only report the same figures again).
pub fn partitions(mounts: &[MountEntry], device_fs: &BTreeSet<String>) -> Vec<Partition> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for m in mounts {
        let device = &m.fs_spec;
        if device.is_empty() || device == "none" {
            continue;
        }
        if !device_fs.contains(&m.fs_vfstype) || EXCLUDED_FS.contains(&m.fs_vfstype.as_str()) {
            continue;
        }
        // /proc/mounts escapes spaces as \040, which procfs_core leaves as they are.
        let mount_point = m.fs_file.replace("\\040", " ");
        if mount_point.ends_with("/proc/sys/fs/binfmt_misc") {
            continue;
        }
        if seen.insert(device.clone()) {
            out.push(Partition {
                device: device.clone(),
                mount_point,
                fs_type: m.fs_vfstype.clone(),
            });
        }
    }
    out
}

/// `mount_point` of the host, as seen from here.
pub fn under_root(host_root: &Path, mount_point: &str) -> PathBuf {
    host_root.join(mount_point.trim_start_matches('/'))
}

pub fn statvfs(path: &Path) -> anyhow::Result<Usage> {
    let s = rustix::fs::statvfs(path).with_context(|| format!("statvfs {}", path.display()))?;
    let frsize = s.f_frsize;
    Ok(Usage {
        total_bytes: s.f_blocks.saturating_mul(frsize),
        // Free for unprivileged users, as df shows it; the blocks reserved for root count as
        // neither free nor used, so used + free can be below total.
        free_bytes: s.f_bavail.saturating_mul(frsize),
        used_bytes: s.f_blocks.saturating_sub(s.f_bfree).saturating_mul(frsize),
    })
}

pub fn write(batch: &mut Batch, p: &Partition, u: &Usage) {
    // A size of zero is no disk (an empty squashfs, a placeholder mount).
    if u.total_bytes == 0 {
        return;
    }
    let tags = vec![
        format!("device:{}", p.device),
        format!("device_name:{}", device_name(&p.device)),
    ];
    let kib = |b: u64| b as f64 / 1024.0;
    batch.gauge("system.disk.total", &tags, kib(u.total_bytes));
    batch.gauge("system.disk.used", &tags, kib(u.used_bytes));
    batch.gauge("system.disk.free", &tags, kib(u.free_bytes));
    let in_use = u.used_bytes as f64 / (u.used_bytes + u.free_bytes).max(1) as f64;
    batch.gauge("system.disk.in_use", &tags, in_use);
    batch.gauge("system.disk.utilized", &tags, in_use * 100.0);
}

/// `/dev/sda1` -> `sda1`, as the Agent's `device_name` tag.
pub fn device_name(device: &str) -> &str {
    device.rsplit('/').next().unwrap_or(device)
}
