//! What `slo alert` monitors read: an SLO's good and total over a window, through the
//! monitors' [`SloSource`] (the SLOs depend on the monitors, not the reverse).

use super::registry::{lock_after, SharedSlos};
use super::sli;
use crate::monitors::registry::Registry;
use crate::monitors::slo_alert::SloReading;
use crate::monitors::SloSource;
use crate::store::Store;

/// The SLOs as slo alerts read them; locked after the store and the monitors' registry.
pub struct Reader(pub SharedSlos);

impl SloSource for Reader {
    fn read(
        &self,
        store: &Store,
        monitors: &Registry,
        slo_id: &str,
        timeframe: &str,
        secs: i64,
        now: i64,
    ) -> Result<SloReading, String> {
        let slos = lock_after(&self.0, store, monitors);
        let entry = slos
            .get(slo_id)
            .ok_or_else(|| format!("slo {slo_id} does not exist"))?;
        let target = entry
            .checked
            .threshold(Some(timeframe))
            .ok_or_else(|| format!("slo {slo_id} has no {timeframe} threshold"))?
            .target;
        let c = sli::compute(&entry.checked, store, monitors, now - secs, now, None)
            .map_err(|e| format!("slo {slo_id}: {e}"))?;
        Ok(SloReading {
            target,
            good: c.good,
            total: c.total,
        })
    }
}
