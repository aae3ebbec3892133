//! Chart geometry for the HTML report: polylines in a fixed viewBox, axis labels and the
//! failure windows to shade. Computed here so templates only draw.

use serde::Serialize;

use crate::results::Results;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 170.0;

#[derive(Serialize)]
pub struct Series {
    pub label: String,
    /// CSS class: the colour.
    pub class: String,
    /// `x,y x,y …` in the viewBox.
    pub points: String,
}

#[derive(Clone, Serialize)]
pub struct Band {
    pub x: f64,
    pub width: f64,
    pub label: String,
}

/// A moment of the run marked on every time chart: where the system broke (`capacity`),
/// where an `abort` criterion stopped the run, or a `pause`, `resume` or `stop` from the
/// dashboard or a signal.
#[derive(Clone, Serialize)]
pub struct Event {
    pub x: f64,
    /// "capacity", "abort", "pause", "resume" or "stop": the CSS class and the legend's word.
    pub kind: &'static str,
    pub label: String,
}

/// A reload of the scenario during the run: a vertical line.
#[derive(Clone, Serialize)]
pub struct Marker {
    pub x: f64,
    pub accepted: bool,
    pub label: String,
}

#[derive(Clone, Serialize)]
pub struct Tick {
    pub x: f64,
    pub label: String,
}

#[derive(Serialize)]
pub struct Chart {
    pub title: String,
    pub width: f64,
    pub height: f64,
    /// The value at the top of the chart, as text.
    pub top: String,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
    pub markers: Vec<Marker>,
    pub ticks: Vec<Tick>,
    pub events: Vec<Event>,
}

#[derive(Serialize)]
pub struct Charts {
    /// Latency by percentile, one line per phase, on a log axis of 1 / (1 - percentile).
    pub spectrum: Chart,
    pub rate: Chart,
    pub latency: Chart,
    pub errors: Chart,
    pub degraded: Chart,
    /// One per kept series of each probe, on the run's time axis.
    pub probes: Vec<Chart>,
    /// The simulated model's components' health, one line each (absent for http).
    pub components: Option<Chart>,
}

fn nice_top(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if max <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

fn fmt(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// What every chart of a run shares: the time axis, its ticks, the failure bands and the
/// reload markers.
struct Frame {
    seconds: f64,
    /// The middle of each timeline entry, s: where its value is drawn (an entry may cover
    /// more than a second; see `metrics::slot`). Past its end, entry `i` stands at `i + 0.5`.
    mids: Vec<f64>,
    bands: Vec<Band>,
    markers: Vec<Marker>,
    events: Vec<Event>,
    ticks: Vec<Tick>,
}

impl Frame {
    fn new(r: &Results) -> Frame {
        let seconds = r.timeline.last().map_or(1, |s| s.t + s.span_s).max(1) as f64;
        let mut frame = Frame {
            seconds,
            mids: r
                .timeline
                .iter()
                .map(|s| s.t as f64 + s.span_s as f64 / 2.0)
                .collect(),
            bands: Vec::new(),
            markers: Vec::new(),
            events: Vec::new(),
            ticks: Vec::new(),
        };
        frame.bands = r
            .failures
            .iter()
            .map(|f| {
                let a = frame.x(f.start_ms as f64 / 1000.0);
                let b = frame.x(f.end_ms as f64 / 1000.0);
                Band {
                    x: a,
                    width: (b - a).max(1.0),
                    label: f.name.clone(),
                }
            })
            .collect();
        frame.markers = r
            .reloads
            .iter()
            .map(|reload| frame.marker(reload))
            .collect();
        if let (Some(at), Some(by)) = (r.capacity.at_ms, &r.capacity.broken_by) {
            frame.events.push(Event {
                x: frame.x(at as f64 / 1000.0),
                kind: "capacity",
                label: match r.capacity.rate.filter(|&rate| rate > 0.0) {
                    Some(rate) => format!(
                        "capacity: broke at {} ({by}); the last rate held was {} TPS",
                        crate::units::ns(at * 1_000_000),
                        crate::units::number(rate)
                    ),
                    None => format!(
                        "capacity: broke at {} ({by}), its first second of load: no rate held",
                        crate::units::ns(at * 1_000_000)
                    ),
                },
            });
        }
        for c in &r.controls {
            let (kind, verb) = match c.action {
                crate::engine::control::Action::Pause => ("pause", "paused"),
                crate::engine::control::Action::Resume => ("resume", "resumed"),
                crate::engine::control::Action::Stop => ("stop", "stopped"),
            };
            frame.events.push(Event {
                x: frame.x(c.at_ms as f64 / 1000.0),
                kind,
                label: format!(
                    "{verb} at {} (wall clock {})",
                    crate::units::ns(c.at_ms * 1_000_000),
                    crate::units::ns(c.wall_ms * 1_000_000)
                ),
            });
        }
        if let Some(a) = &r.aborted {
            let rate = r
                .capacity
                .abort_rate
                .map(|rate| format!(" at a planned {} TPS", crate::units::number(rate)))
                .unwrap_or_default();
            frame.events.push(Event {
                x: frame.x(a.at_ms as f64 / 1000.0),
                kind: "abort",
                label: format!(
                    "aborted at {}: {} ({}) failed{rate}",
                    crate::units::ns(a.at_ms * 1_000_000),
                    a.check,
                    a.scope
                ),
            });
        }
        frame.set_ticks();
        frame
    }

    /// A time axis of `seconds` with nothing marked on it.
    fn bare(seconds: usize) -> Frame {
        let mut frame = Frame {
            seconds: seconds.max(1) as f64,
            mids: Vec::new(),
            bands: Vec::new(),
            markers: Vec::new(),
            events: Vec::new(),
            ticks: Vec::new(),
        };
        frame.set_ticks();
        frame
    }

    fn set_ticks(&mut self) {
        let seconds = self.seconds;
        // Ticks on round times: the smallest step from this list that gives at most 8.
        let step = [
            1u64, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400,
        ]
        .into_iter()
        .find(|s| seconds / *s as f64 <= 8.0)
        .unwrap_or(86400 * ((seconds / 8.0 / 86400.0).ceil() as u64).max(1));
        self.ticks = (0..=(seconds as u64 / step))
            .map(|i| {
                let t = (i * step) as f64;
                Tick {
                    x: self.x(t),
                    label: crate::units::ns((t * 1e9) as u64),
                }
            })
            .collect();
    }

    /// The horizontal position of second `t`.
    fn x(&self, t: f64) -> f64 {
        (t / self.seconds * WIDTH * 100.0).round() / 100.0
    }

    fn marker(&self, reload: &crate::results::Reload) -> Marker {
        let what = if reload.accepted {
            reload.changes.join("; ")
        } else {
            reload.errors.join("; ")
        };
        Marker {
            x: self.x(reload.at_ms as f64 / 1000.0),
            accepted: reload.accepted,
            label: format!(
                "reload at {}: {}{}{}",
                crate::units::ns(reload.at_ms * 1_000_000),
                if reload.accepted {
                    "accepted"
                } else {
                    "refused"
                },
                if what.is_empty() { "" } else { ": " },
                what
            ),
        }
    }

    /// A chart of `lines` (label, CSS class, a value per second), scaled to `top` or to a
    /// round number above the largest value.
    fn chart(
        &self,
        title: &str,
        unit: &str,
        lines: Vec<(&str, &str, Vec<Option<f64>>)>,
        top: Option<f64>,
    ) -> Chart {
        let max = lines
            .iter()
            .flat_map(|(_, _, v)| v.iter().flatten().copied())
            .fold(0.0, f64::max);
        let top = top.unwrap_or_else(|| nice_top(max));
        let series = lines
            .into_iter()
            .map(|(label, class, values)| {
                let mut points = String::new();
                for (t, v) in values.iter().enumerate() {
                    if let Some(v) = v {
                        let y = HEIGHT - (v / top).clamp(0.0, 1.0) * HEIGHT;
                        let mid = self.mids.get(t).copied().unwrap_or(t as f64 + 0.5);
                        points.push_str(&format!("{},{:.2} ", self.x(mid), y));
                    }
                }
                Series {
                    label: label.to_string(),
                    class: class.to_string(),
                    points: points.trim_end().to_string(),
                }
            })
            .collect();
        Chart {
            title: title.to_string(),
            width: WIDTH,
            height: HEIGHT,
            top: format!("{}{unit}", fmt(top)),
            series,
            bands: self.bands.clone(),
            markers: self.markers.clone(),
            events: self.events.clone(),
            ticks: self.ticks.clone(),
        }
    }
}

/// Two runs over time on one axis: p95 latency, error rate and throughput, the baseline's
/// line beside the run's.
pub fn comparison(c: &crate::compare::Comparison) -> Vec<Chart> {
    let s = &c.series;
    let frame = Frame::bare(s.p95_ms[0].len().max(s.p95_ms[1].len()));
    let pct = |v: &Vec<Option<f64>>| v.iter().map(|x| x.map(|x| x * 100.0)).collect();
    vec![
        frame.chart(
            "Latency p95 per second (ms)",
            " ms",
            vec![
                ("baseline", "base", s.p95_ms[0].clone()),
                ("run", "run", s.p95_ms[1].clone()),
            ],
            None,
        ),
        frame.chart(
            "Error rate per second (%)",
            "%",
            vec![
                ("baseline", "base", pct(&s.error_rate[0])),
                ("run", "run", pct(&s.error_rate[1])),
            ],
            None,
        ),
        frame.chart(
            "Throughput (ok per second)",
            "",
            vec![
                ("baseline", "base", s.throughput[0].clone()),
                ("run", "run", s.throughput[1].clone()),
            ],
            None,
        ),
    ]
}

impl Charts {
    pub fn new(r: &Results) -> Charts {
        let frame = Frame::new(r);
        let tl = &r.timeline;
        let per_second = |f: fn(&crate::results::TimelineSecond) -> u64| -> Vec<Option<f64>> {
            tl.iter().map(|s| Some(s.per_second(f(s)))).collect()
        };
        Charts {
            spectrum: spectrum(r),
            rate: frame.chart(
                "Rate (transactions per second)",
                "/s",
                vec![
                    ("planned", "planned", per_second(|s| s.counts.planned)),
                    ("ok", "ok", per_second(|s| s.counts.ok)),
                ],
                None,
            ),
            latency: frame.chart(
                "Latency from planned start",
                " ms",
                vec![
                    ("p50", "p50", tl.iter().map(|s| s.latency_ms.p50).collect()),
                    ("p95", "p95", tl.iter().map(|s| s.latency_ms.p95).collect()),
                    ("p99", "p99", tl.iter().map(|s| s.latency_ms.p99).collect()),
                ],
                None,
            ),
            errors: frame.chart(
                "Errors and timeouts per second",
                "/s",
                vec![
                    ("errors", "errors", per_second(|s| s.counts.errors)),
                    ("timeouts", "timeouts", per_second(|s| s.counts.timeouts)),
                ],
                None,
            ),
            degraded: frame.chart(
                "Degraded decisions (share of decisions)",
                "%",
                vec![(
                    "degraded",
                    "degraded",
                    tl.iter()
                        .map(|s| {
                            (s.counts.ok > 0)
                                .then(|| s.degraded as f64 / s.counts.ok as f64 * 100.0)
                        })
                        .collect(),
                )],
                Some(100.0),
            ),
            probes: r
                .probes
                .iter()
                .flat_map(|p| {
                    p.series.iter().map(|s| {
                        let what = if s.rate { " (per second)" } else { "" };
                        frame.chart(
                            &format!("Probe {}: {}{what}", p.name, s.name),
                            "",
                            vec![(s.name.as_str(), "p50", s.values.clone())],
                            None,
                        )
                    })
                })
                .collect(),
            components: components_chart(&frame, tl),
        }
    }
}

/// Each component's health per second, in %, one line per component.
fn components_chart(frame: &Frame, tl: &[crate::results::TimelineSecond]) -> Option<Chart> {
    let first = tl.iter().find_map(|s| s.components.as_ref())?;
    let names: Vec<String> = first.iter().map(|c| c.name.to_string()).collect();
    let lines: Vec<(String, Vec<Option<f64>>)> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let values = tl
                .iter()
                .map(|s| {
                    s.components
                        .as_ref()
                        .and_then(|cs| cs.get(i))
                        .map(|c| c.health * 100.0)
                })
                .collect();
            (name.clone(), values)
        })
        .collect();
    let classes: Vec<String> = names.iter().map(|n| format!("c-{n}")).collect();
    Some(
        frame.chart(
            "Component health (share of calls served well)",
            "%",
            lines
                .iter()
                .zip(&classes)
                .map(|((name, values), class)| (name.as_str(), class.as_str(), values.clone()))
                .collect(),
            Some(100.0),
        ),
    )
}

/// The latency percentile spectrum: x is log10(1 / (1 - p)) (50% at 0.3, 99.999% at 5), y is
/// latency in ms; one line per phase that answered anything.
fn spectrum(r: &Results) -> Chart {
    // 5 decades of tail (to 99.999%), with room for the last label.
    const DECADES: f64 = 5.25;
    let x = |p: f64| {
        let tail = (1.0 - (p / 100.0).min(0.99999)).max(1e-5);
        ((-tail.log10()) / DECADES * WIDTH * 100.0).round() / 100.0
    };
    let max = r
        .phases
        .iter()
        .flat_map(|p| p.latency_spectrum.iter().map(|v| v[1]))
        .fold(0.0, f64::max);
    let top = nice_top(max);
    let classes = ["p50", "p95", "p99", "ok", "errors", "timeouts", "planned"];
    let series = r
        .phases
        .iter()
        .filter(|p| !p.latency_spectrum.is_empty())
        .enumerate()
        .map(|(i, p)| Series {
            label: p.name.clone(),
            class: classes[i % classes.len()].to_string(),
            points: p
                .latency_spectrum
                .iter()
                .map(|v| format!("{},{:.2}", x(v[0]), HEIGHT - (v[1] / top).min(1.0) * HEIGHT))
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect();
    let ticks = ["50%", "90%", "99%", "99.9%", "99.99%", "99.999%"]
        .iter()
        .zip([50.0, 90.0, 99.0, 99.9, 99.99, 99.999])
        .map(|(label, p)| Tick {
            x: x(p),
            label: label.to_string(),
        })
        .collect();
    Chart {
        title: "Latency by percentile (each phase; the tail to the right)".to_string(),
        width: WIDTH,
        height: HEIGHT,
        top: format!("{} ms", fmt(top)),
        series,
        bands: Vec::new(),
        markers: Vec::new(),
        ticks,
        events: Vec::new(),
    }
}
