//! Plain-text counters for `GET /metrics`, in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($name:ident: $help:literal),* $(,)?) => {
        /// The hub's counters since it started.
        #[derive(Debug, Default)]
        pub struct Metrics { $(pub $name: AtomicU64,)* }

        impl Metrics {
            /// The counters as Prometheus text.
            pub fn render(&self) -> String {
                let mut out = String::new();
                $(
                    let _ = writeln!(out, "# HELP minga_hub_{} {}", stringify!($name), $help);
                    let _ = writeln!(out, "# TYPE minga_hub_{} counter", stringify!($name));
                    let _ = writeln!(out, "minga_hub_{} {}", stringify!($name), self.$name.load(Ordering::Relaxed));
                )*
                out
            }
        }
    };
}

counters! {
    requests_total: "HTTP requests answered",
    requests_refused_total: "requests answered with a 4xx status",
    requests_failed_total: "requests answered with a 5xx status",
    enrolments_total: "devices enrolled",
    documents_received_total: "documents received from devices",
    documents_sent_total: "documents sent to devices",
    sync_rounds_total: "sync round trips answered",
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_as_prometheus_text() {
        let metrics = Metrics::default();
        Metrics::add(&metrics.requests_total, 3);
        let text = metrics.render();
        assert!(text.contains("minga_hub_requests_total 3\n"), "{text}");
        assert!(text.contains("# TYPE minga_hub_enrolments_total counter"));
    }
}
