//! The profile intake's options: how big an upload may be, and how many profiles are kept.
//! It serves on the trace intake's listeners (`/profiling/v1/input` on 8126, where the Agent
//! takes profiles), so it binds nothing of its own.

use clap::Args;

use super::{ProfileStore, SharedProfiles};

#[derive(Debug, Clone, Args)]
pub struct ProfilesConfig {
    /// Profiles kept; past it, the oldest go first.
    #[arg(long, env = "AGENT_LITE_MAX_PROFILES", default_value_t = 2000)]
    pub max_profiles: usize,

    /// Bytes of profiles kept (as uploaded, compressed); past it, the oldest go first.
    #[arg(long, env = "AGENT_LITE_MAX_PROFILE_BYTES", default_value_t = 256 << 20)]
    pub max_profile_bytes: usize,

    /// Largest profile upload taken, in bytes (a profiler's upload is tens to hundreds of KiB;
    /// libdatadog caps one attachment at 10 MiB).
    #[arg(long, env = "AGENT_LITE_MAX_PROFILE_UPLOAD_BYTES", default_value_t = 16 << 20)]
    pub max_upload_bytes: usize,
}

impl Default for ProfilesConfig {
    fn default() -> Self {
        Self {
            max_profiles: 2000,
            max_profile_bytes: 256 << 20,
            max_upload_bytes: 16 << 20,
        }
    }
}

impl ProfilesConfig {
    /// The store the intake fills and the API reads, bounded as configured.
    pub fn store(&self) -> SharedProfiles {
        SharedProfiles::new(ProfileStore::new(self.max_profiles, self.max_profile_bytes))
    }
}
