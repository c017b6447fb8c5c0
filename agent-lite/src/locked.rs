//! A value shared between tasks behind one lock: how each store (metrics, traces, events,
//! logs, monitors) is handed to the components that write or read it. A leaf module.

use std::sync::{Arc, Mutex, MutexGuard};

/// A cheap handle (an `Arc`) to one locked value; clones share it.
#[derive(Debug, Default)]
pub struct Locked<T>(Arc<Mutex<T>>);

impl<T> Clone for Locked<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Locked<T> {
    pub fn new(value: T) -> Self {
        Self(Arc::new(Mutex::new(value)))
    }

    /// A panic while the lock was held leaves data that is still consistent (every write to
    /// a store is a single insert or replacement), so a poisoned lock is taken over rather
    /// than propagated.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
