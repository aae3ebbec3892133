//! `x-gauntlet-fault`: how the fault proxy hands a failure aimed at one of a service's own
//! components (`component = "ml-scorer"` rather than `"upstream"`) to the service, the way
//! Envoy's fault filter takes its faults from request headers. A service that understands the
//! header (`gauntlet serve` does) applies the fault inside that component; one that does not
//! ignores it. The value is a comma-separated list of `COMPONENT:KIND[;KEY=VALUE]...`:
//!
//! `ml-scorer:latency;delay_ms=200`, `feature-store:errors`, `ml-scorer:slowdown;factor=4`,
//! `rules-engine:throttle;limit=100`, `decision:crash`, `feature-store:hang`,
//! `ml-scorer:packet-loss`.

use crate::scenario::model::Effect;

pub const FAULT_HEADER: &str = "x-gauntlet-fault";

/// What a fault does to the calls of its component.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Crash,
    Errors,
    Throttle {
        limit: u64,
    },
    Hang,
    PacketLoss,
    /// The call holds its worker this much longer.
    Latency {
        delay_ms: f64,
    },
    Slowdown {
        factor: f64,
    },
}

/// One fault for one component.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub component: String,
    pub kind: Kind,
}

impl Fault {
    /// The fault a failure's effect puts in the header (`delay_ms`: the latency drawn for this
    /// request, jitter included); None for a bandwidth failure, which only the proxy can apply.
    pub fn of(component: &str, effect: &Effect, delay_ms: f64) -> Option<Fault> {
        let kind = match *effect {
            Effect::Crash => Kind::Crash,
            Effect::Errors { .. } => Kind::Errors,
            Effect::Throttle { limit } => Kind::Throttle { limit },
            Effect::Hang => Kind::Hang,
            Effect::PacketLoss => Kind::PacketLoss,
            Effect::Latency { .. } => Kind::Latency { delay_ms },
            Effect::Slowdown { factor } => Kind::Slowdown { factor },
            Effect::Bandwidth { .. } => return None,
        };
        Some(Fault {
            component: component.to_string(),
            kind,
        })
    }

    pub fn encode(&self) -> String {
        let c = &self.component;
        match self.kind {
            Kind::Crash => format!("{c}:crash"),
            Kind::Errors => format!("{c}:errors"),
            Kind::Throttle { limit } => format!("{c}:throttle;limit={limit}"),
            Kind::Hang => format!("{c}:hang"),
            Kind::PacketLoss => format!("{c}:packet-loss"),
            Kind::Latency { delay_ms } => format!("{c}:latency;delay_ms={delay_ms:.3}"),
            Kind::Slowdown { factor } => format!("{c}:slowdown;factor={factor}"),
        }
    }

    /// The faults in a header value; an entry that does not parse is skipped (a service never
    /// fails a request over a malformed test header).
    pub fn parse_all(value: &str) -> Vec<Fault> {
        value.split(',').filter_map(Fault::parse).collect()
    }

    fn parse(entry: &str) -> Option<Fault> {
        let (component, rest) = entry.trim().split_once(':')?;
        let mut parts = rest.split(';');
        let kind = parts.next()?.trim();
        let param = |key: &str| -> Option<f64> {
            rest.split(';')
                .skip(1)
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim() == key)
                .and_then(|(_, v)| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        let kind = match kind {
            "crash" => Kind::Crash,
            "errors" => Kind::Errors,
            "throttle" => Kind::Throttle {
                limit: param("limit")? as u64,
            },
            "hang" => Kind::Hang,
            "packet-loss" => Kind::PacketLoss,
            // At most an hour: a header cannot make a worker sleep forever.
            "latency" => Kind::Latency {
                delay_ms: param("delay_ms")?.min(3_600_000.0),
            },
            "slowdown" => Kind::Slowdown {
                factor: param("factor")?.clamp(1.0, 1_000.0),
            },
            _ => return None,
        };
        Some(Fault {
            component: component.trim().to_string(),
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_survives_the_round_trip_and_junk_is_skipped() {
        let faults = [
            Kind::Crash,
            Kind::Errors,
            Kind::Throttle { limit: 100 },
            Kind::Hang,
            Kind::PacketLoss,
            Kind::Latency { delay_ms: 212.5 },
            Kind::Slowdown { factor: 4.0 },
        ]
        .map(|kind| Fault {
            component: "ml-scorer".into(),
            kind,
        });
        let header = faults
            .iter()
            .map(Fault::encode)
            .collect::<Vec<_>>()
            .join(", ");
        assert_eq!(Fault::parse_all(&header), faults.to_vec());
        let junk =
            "nope, ml-scorer:melt, a:latency;delay_ms=-5, a:latency;delay_ms=1e300, b:slowdown";
        assert_eq!(
            Fault::parse_all(junk),
            vec![Fault {
                component: "a".into(),
                kind: Kind::Latency {
                    delay_ms: 3_600_000.0
                }
            }]
        );
    }
}
