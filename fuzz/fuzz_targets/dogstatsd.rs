//! DogStatsD datagrams (8125/udp, or the Unix socket), as the intake task handles each one:
//! lines parsed into the aggregator and the event stream, then the aggregator flushed into
//! the store. Beyond "no panic": every non-empty line is either taken (metric, event,
//! service check) or rejected and counted, never both and never neither.

#![no_main]

use agent_lite::counters::{Counter, Family};
use agent_lite::intake::dogstatsd::aggregator::Aggregator;
use agent_lite::intake::dogstatsd::{flush, handle_packet, Output, BUFFER_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|packet: &[u8]| {
    let intake = Output::detached("lab");
    let mut agg = Aggregator::default();
    handle_packet(packet, &mut agg, &intake);
    flush(&mut agg, &intake);

    let counters = intake.counters.snapshot();
    let taken: u64 = [
        Counter::DogstatsdMetrics,
        Counter::DogstatsdEvents,
        Counter::DogstatsdServiceChecks,
    ]
    .iter()
    .filter_map(|c| counters.get(c.name()))
    .sum();
    let rejected_prefix = format!("{}.", Family::DogstatsdRejected.name());
    let rejected: u64 = counters
        .iter()
        .filter(|(k, _)| k.starts_with(&rejected_prefix))
        .map(|(_, v)| *v)
        .sum();
    if packet.len() > BUFFER_SIZE {
        // What the receive buffer cut is refused whole, as one rejection.
        assert_eq!((taken, rejected), (0, 1), "an oversized datagram");
    } else {
        let lines = String::from_utf8_lossy(packet)
            .split('\n')
            .filter(|l| !l.trim_end_matches('\r').is_empty())
            .count() as u64;
        assert_eq!(
            taken + rejected,
            lines,
            "taken {taken}, rejected {rejected}"
        );
    }
});
