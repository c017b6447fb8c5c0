use super::cpu::{count_cpu_list, percentages, CpuSample};
use super::disk::{parse_device_fs, partitions, Partition};
use super::{HostCollector, HostPaths};
use procfs_core::{FromBufRead, MountEntry};

const STAT_FIRST: &str = include_str!("../testdata/proc/stat.first");
const STAT_SECOND: &str = include_str!("../testdata/proc/stat.second");
const MEMINFO: &str = include_str!("../testdata/proc/meminfo");
const LOADAVG: &str = include_str!("../testdata/proc/loadavg");
const UPTIME: &str = include_str!("../testdata/proc/uptime");
const FILESYSTEMS: &str = include_str!("../testdata/proc/filesystems");
const MOUNTS: &str = include_str!("../testdata/proc/mounts");

/// A host as a container sees it through HOST_PROC, HOST_SYS and HOST_ROOT mounts.
struct FakeHost {
    dir: tempfile::TempDir,
}

impl FakeHost {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let host = Self { dir };
        host.write("proc/stat", STAT_FIRST);
        host.write("proc/meminfo", MEMINFO);
        host.write("proc/loadavg", LOADAVG);
        host.write("proc/uptime", UPTIME);
        host.write("proc/filesystems", FILESYSTEMS);
        host.write("proc/1/mounts", MOUNTS);
        host.write("sys/devices/system/cpu/online", "0-1\n");
        for mount_point in ["root/data disk", "root/mnt/usb"] {
            std::fs::create_dir_all(host.path(mount_point)).expect("mount point");
        }
        host
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write fixture");
    }

    fn paths(&self) -> HostPaths {
        HostPaths {
            proc_root: self.path("proc"),
            sys_root: self.path("sys"),
            host_root: self.path("root"),
        }
    }
}

fn close(got: Option<f64>, want: f64) -> bool {
    got.is_some_and(|g| (g - want).abs() < 1e-9)
}

#[test]
fn cpu_is_a_share_of_the_whole_host_between_two_readings() {
    let host = FakeHost::new();
    let mut c = HostCollector::new(host.paths());
    let (first, failures) = c.collect();
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(
        first.value("system.cpu.user", &[]),
        None,
        "a rate needs two readings"
    );
    assert_eq!(first.value("system.cpu.num_cores", &[]), Some(2.0));

    host.write("proc/stat", STAT_SECOND);
    let (second, _) = c.collect();
    // Deltas: user 600 + nice 100, system 300 + irq 50 + softirq 50, idle 700, iowait 100,
    // steal 100, over 2000 ticks.
    for (name, want) in [
        ("system.cpu.user", 35.0),
        ("system.cpu.system", 20.0),
        ("system.cpu.iowait", 5.0),
        ("system.cpu.idle", 35.0),
        ("system.cpu.stolen", 5.0),
        ("system.cpu.guest", 2.0),
        ("system.cpu.interrupt", 5.0),
    ] {
        assert!(
            close(second.value(name, &[]), want),
            "{name}: {:?}",
            second.value(name, &[])
        );
    }
    assert_eq!(
        second.value("system.cpu.context_switches", &[]),
        Some(12345.0)
    );
}

#[test]
fn shares_add_up_to_the_whole_and_never_go_negative() {
    let prev = CpuSample {
        user: 10,
        iowait: 50,
        idle: 100,
        ..Default::default()
    };
    // iowait going backwards happens on real kernels.
    let cur = CpuSample {
        user: 60,
        iowait: 40,
        idle: 200,
        ..Default::default()
    };
    let p = percentages(&prev, &cur).expect("ticks passed");
    assert_eq!(p.iowait, 0.0);
    assert!(p.user >= 0.0 && p.idle >= 0.0);
    assert_eq!(percentages(&cur, &cur), None, "no tick, no figure");
    assert_eq!(
        percentages(&cur, &prev),
        None,
        "counters reset: skip a round"
    );
}

#[test]
fn memory_is_in_mib_and_pct_usable_a_fraction() {
    let host = FakeHost::new();
    let (b, _) = HostCollector::new(host.paths()).collect();
    for (name, want) in [
        ("system.mem.total", 16000.0),
        ("system.mem.free", 2000.0),
        ("system.mem.used", 14000.0),
        ("system.mem.usable", 8000.0),
        ("system.mem.pct_usable", 0.5),
        ("system.mem.cached", 4200.0),
        ("system.mem.buffered", 100.0),
        ("system.mem.shared", 50.0),
        ("system.mem.slab", 300.0),
        ("system.mem.page_tables", 10.0),
        ("system.swap.total", 2048.0),
        ("system.swap.free", 1536.0),
        ("system.swap.used", 512.0),
        ("system.swap.pct_free", 0.75),
        ("system.swap.cached", 1.0),
    ] {
        assert!(
            close(b.value(name, &[]), want),
            "{name}: {:?}",
            b.value(name, &[])
        );
    }
}

#[test]
fn load_is_also_divided_by_the_cpus_and_uptime_is_in_seconds() {
    let host = FakeHost::new();
    let (b, _) = HostCollector::new(host.paths()).collect();
    assert!(close(b.value("system.load.1", &[]), 2.5));
    assert!(close(b.value("system.load.15", &[]), 0.5));
    assert!(close(b.value("system.load.norm.1", &[]), 1.25));
    assert!(close(b.value("system.load.norm.5", &[]), 0.5));
    assert!(close(b.value("system.uptime", &[]), 3600.5));
}

#[test]
fn pseudo_file_systems_and_repeated_devices_are_left_out() {
    let mounts = Vec::<MountEntry>::from_buf_read(MOUNTS.as_bytes()).expect("mounts");
    let parts = partitions(&mounts, &parse_device_fs(FILESYSTEMS));
    assert_eq!(
        parts,
        vec![
            Partition {
                device: "/dev/vda1".into(),
                mount_point: "/".into(),
                fs_type: "ext4".into()
            },
            Partition {
                device: "/dev/vdb1".into(),
                mount_point: "/data disk".into(),
                fs_type: "xfs".into()
            },
            Partition {
                device: "/dev/sdc1".into(),
                mount_point: "/mnt/usb".into(),
                fs_type: "fuseblk".into()
            },
        ]
    );
}

#[test]
fn disks_are_measured_under_the_host_root_in_kib() {
    let host = FakeHost::new();
    let (b, failures) = HostCollector::new(host.paths()).collect();
    assert!(failures.is_empty(), "{failures:?}");
    let s = rustix::fs::statvfs(host.path("root")).expect("statvfs");
    let total_kib = (s.f_blocks * s.f_frsize) as f64 / 1024.0;
    let tags = ["device:/dev/vda1", "device_name:vda1"];
    assert!(close(b.value("system.disk.total", &tags), total_kib));
    let used = b.value("system.disk.used", &tags).expect("used");
    let free = b.value("system.disk.free", &tags).expect("free");
    let in_use = b.value("system.disk.in_use", &tags).expect("in_use");
    assert!((0.0..=1.0).contains(&in_use));
    assert!((in_use - used / (used + free)).abs() < 1e-9);
    assert!(b
        .value("system.disk.total", &["device_name:vdb1"])
        .is_some());
    assert_eq!(b.value("system.disk.total", &["device_name:sr0"]), None);
}

#[test]
fn what_cannot_be_read_fails_alone_and_says_where() {
    let host = FakeHost::new();
    let mut paths = host.paths();
    paths.host_root = host.path("no-such-root");
    let (b, failures) = HostCollector::new(paths).collect();
    let parts: Vec<_> = failures.iter().map(|(p, _)| *p).collect();
    assert_eq!(parts, vec!["disk"]);
    assert!(format!("{:#}", failures[0].1).contains("HOST_ROOT"));
    assert!(b.value("system.mem.total", &[]).is_some());

    let empty = tempfile::tempdir().expect("temp dir");
    let (b, failures) = HostCollector::new(HostPaths {
        proc_root: empty.path().join("proc"),
        sys_root: empty.path().join("sys"),
        host_root: empty.path().to_path_buf(),
    })
    .collect();
    assert!(b.points.is_empty());
    let parts: Vec<_> = failures.iter().map(|(p, _)| *p).collect();
    assert_eq!(parts, vec!["cpu", "load", "memory", "uptime", "disk"]);
    assert!(format!("{:#}", failures[0].1).contains("proc/stat"));
}

#[test]
fn cpu_lists_count_ranges_and_singles() {
    assert_eq!(count_cpu_list("0-1\n"), Some(2));
    assert_eq!(count_cpu_list("0-3,6,8-9"), Some(7));
    assert_eq!(count_cpu_list("0"), Some(1));
    assert_eq!(count_cpu_list(""), None);
    assert_eq!(count_cpu_list("3-1"), None);
    assert_eq!(count_cpu_list("x"), None);
}

/// The figures of this machine, against /proc read here independently.
#[test]
fn this_machine_reads_back_as_proc_says() {
    let paths = HostPaths {
        proc_root: "/proc".into(),
        sys_root: "/sys".into(),
        host_root: "/".into(),
    };
    let mut c = HostCollector::new(paths);
    let _ = c.collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (b, failures) = c.collect();
    assert!(failures.is_empty(), "{failures:?}");
    let sum: f64 = [
        "system.cpu.user",
        "system.cpu.system",
        "system.cpu.iowait",
        "system.cpu.idle",
        "system.cpu.stolen",
    ]
    .iter()
    .map(|n| b.value(n, &[]).expect(n))
    .sum();
    assert!((sum - 100.0).abs() < 1e-6, "shares sum to {sum}");
    let meminfo = std::fs::read_to_string("/proc/meminfo").expect("meminfo");
    let total_kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("MemTotal");
    assert_eq!(b.value("system.mem.total", &[]), Some(total_kib / 1024.0));
    assert!(
        b.names().contains("system.disk.in_use"),
        "the root file system is measured"
    );
}
