//! Criterion expressions: `check = "METRIC OP VALUE"`, e.g. `latency.p95 < 2s`,
//! `error_rate < 0.1%`, `fraud.recall > 90%`. Parsing turns the text into a metric from the
//! registry below, an operator and a threshold in the metric's base unit (milliseconds for
//! times, fractions for shares), or says exactly which part of the text is wrong.

use serde::Serialize;

use super::suggest::did_you_mean;

/// What a metric measures decides which units fit it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// A time; `ms`, `s` or `m` (a bare number is milliseconds). Base unit: ms.
    Time,
    /// A share of something, `%` or a fraction in [0, 1]. Base unit: fraction.
    Share,
    /// A ratio that may pass 100% (ROI); `%` or a plain number. Base unit: fraction.
    Ratio,
    /// A count; a plain number.
    Count,
    /// Transactions per second; a plain number.
    Rate,
    /// US dollars; a plain number.
    Money,
}

/// One metric a criterion may judge.
#[derive(Clone, Copy, Debug)]
pub struct MetricDef {
    pub name: &'static str,
    pub kind: MetricKind,
    pub meaning: &'static str,
}

macro_rules! stats {
    ($prefix:literal, $meaning:literal) => {
        [
            MetricDef {
                name: concat!($prefix, ".min"),
                kind: MetricKind::Time,
                meaning: $meaning,
            },
            MetricDef {
                name: concat!($prefix, ".mean"),
                kind: MetricKind::Time,
                meaning: $meaning,
            },
            MetricDef {
                name: concat!($prefix, ".p50"),
                kind: MetricKind::Time,
                meaning: $meaning,
            },
            MetricDef {
                name: concat!($prefix, ".p90"),
                kind: MetricKind::Time,
                meaning: $meaning,
            },
            MetricDef {
                name: concat!($prefix, ".p95"),
                kind: MetricKind::Time,
                meaning: $meaning,
            },
            MetricDef {
                name: concat!($prefix, ".p99"),
                kind: MetricKind::Time,
                meaning: $meaning,
            },
            MetricDef {
                name: concat!($prefix, ".p99.9"),
                kind: MetricKind::Time,
                meaning: $meaning,
            },
            MetricDef {
                name: concat!($prefix, ".max"),
                kind: MetricKind::Time,
                meaning: $meaning,
            },
        ]
    };
}

const LATENCY: [MetricDef; 8] = stats!("latency", "from each transaction's planned start");
const SERVICE_TIME: [MetricDef; 8] = stats!("service_time", "from the moment it was actually sent");

const OTHERS: [MetricDef; 22] = [
    MetricDef {
        name: "throughput",
        kind: MetricKind::Rate,
        meaning: "successful transactions per second",
    },
    MetricDef {
        name: "throughput_ratio",
        kind: MetricKind::Share,
        meaning: "ok / planned",
    },
    MetricDef {
        name: "requests",
        kind: MetricKind::Count,
        meaning: "transactions planned",
    },
    MetricDef {
        name: "errors",
        kind: MetricKind::Count,
        meaning: "transactions that failed",
    },
    MetricDef {
        name: "timeouts",
        kind: MetricKind::Count,
        meaning: "transactions that timed out",
    },
    MetricDef {
        name: "dropped",
        kind: MetricKind::Count,
        meaning: "arrivals over the in-flight limit",
    },
    MetricDef {
        name: "lost",
        kind: MetricKind::Count,
        meaning: "planned minus every accounted outcome",
    },
    MetricDef {
        name: "error_rate",
        kind: MetricKind::Share,
        meaning: "errors / planned",
    },
    MetricDef {
        name: "timeout_rate",
        kind: MetricKind::Share,
        meaning: "timeouts / planned",
    },
    MetricDef {
        name: "drop_rate",
        kind: MetricKind::Share,
        meaning: "dropped / planned",
    },
    MetricDef {
        name: "recovery_time",
        kind: MetricKind::Time,
        meaning: "longest recovery of any failure in scope",
    },
    MetricDef {
        name: "degradation.max",
        kind: MetricKind::Share,
        meaning: "largest per-second share of degraded decisions",
    },
    MetricDef {
        name: "fraud.recall",
        kind: MetricKind::Share,
        meaning: "fraud caught / fraud sent",
    },
    MetricDef {
        name: "fraud.precision",
        kind: MetricKind::Share,
        meaning: "true blocks / all blocks",
    },
    MetricDef {
        name: "fraud.false_positive_rate",
        kind: MetricKind::Share,
        meaning: "legitimate blocked / legitimate",
    },
    MetricDef {
        name: "fraud.prevented_amount",
        kind: MetricKind::Money,
        meaning: "USD of fraud blocked",
    },
    MetricDef {
        name: "fraud.missed_amount",
        kind: MetricKind::Money,
        meaning: "USD of fraud let through",
    },
    MetricDef {
        name: "business.money_saved",
        kind: MetricKind::Money,
        meaning: "prevented minus costs, USD",
    },
    MetricDef {
        name: "business.roi",
        kind: MetricKind::Ratio,
        meaning: "money saved / total cost",
    },
    MetricDef {
        name: "business.cost_per_transaction",
        kind: MetricKind::Money,
        meaning: "total cost / transactions, USD",
    },
    MetricDef {
        name: "availability",
        kind: MetricKind::Share,
        meaning: "share of seconds with error rate under 1%",
    },
    MetricDef {
        name: "generator.lag.p99",
        kind: MetricKind::Time,
        meaning: "how late the generator itself sent",
    },
];

/// Every metric a criterion may name.
pub fn metrics() -> impl Iterator<Item = &'static MetricDef> {
    LATENCY
        .iter()
        .chain(SERVICE_TIME.iter())
        .chain(OTHERS.iter())
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }

    /// Whether `observed OP threshold` holds.
    pub fn holds(self, observed: f64, threshold: f64) -> bool {
        match self {
            Op::Lt => observed < threshold,
            Op::Le => observed <= threshold,
            Op::Gt => observed > threshold,
            Op::Ge => observed >= threshold,
            Op::Eq => observed == threshold,
            Op::Ne => observed != threshold,
        }
    }
}

impl Serialize for Op {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.symbol())
    }
}

/// A parsed criterion expression.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    pub metric: &'static str,
    pub kind: MetricKind,
    pub op: Op,
    /// In the metric's base unit: milliseconds for times, fractions for shares and ratios.
    pub threshold: f64,
    /// The expression in canonical spacing, e.g. `latency.p95 < 2s`.
    pub text: String,
}

/// Why an expression was rejected, and which bytes of it are at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckError {
    pub start: usize,
    pub end: usize,
    pub message: String,
}

const OPS: [(&str, Op); 6] = [
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("==", Op::Eq),
    ("!=", Op::Ne),
    ("<", Op::Lt),
    (">", Op::Gt),
];

pub fn parse(text: &str) -> Result<Check, CheckError> {
    let err = |start: usize, end: usize, message: String| CheckError {
        start,
        end,
        message,
    };
    let Some((op_at, op_text, op)) = text.char_indices().find_map(|(i, _)| {
        OPS.iter()
            .find(|(s, _)| text[i..].starts_with(s))
            .map(|(s, op)| (i, *s, *op))
    }) else {
        return Err(err(
            0,
            text.len(),
            format!(
                "\"{text}\" has no comparison; write METRIC OP VALUE with OP one of < <= > >= == !=, e.g. \"latency.p95 < 2s\""
            ),
        ));
    };
    let metric_raw = &text[..op_at];
    let metric_name = metric_raw.trim();
    let metric_start = metric_raw.len() - metric_raw.trim_start().len();
    if metric_name.is_empty() {
        return Err(err(
            0,
            op_at.max(1),
            "the check names no metric before its operator".to_string(),
        ));
    }
    let Some(def) = metrics().find(|m| m.name == metric_name) else {
        let mut message = format!("unknown metric \"{metric_name}\"");
        if let Some(s) = did_you_mean(metric_name, metrics().map(|m| m.name)) {
            message.push_str(&format!("; did you mean \"{s}\"?"));
        } else {
            message.push_str("; see the metric list in docs/scenario-language.md");
        }
        return Err(err(metric_start, metric_start + metric_name.len(), message));
    };
    let value_at = op_at + op_text.len();
    let value_raw = &text[value_at..];
    let value_text = value_raw.trim();
    let value_start = value_at + (value_raw.len() - value_raw.trim_start().len());
    if value_text.is_empty() {
        return Err(err(
            op_at,
            value_at,
            format!("nothing to compare \"{metric_name}\" with after \"{op_text}\""),
        ));
    }
    if value_text.starts_with(['<', '>', '=', '!']) {
        return Err(err(
            op_at,
            value_start + 1,
            format!(
                "\"{}\" is not an operator; use one of < <= > >= == !=",
                &text[op_at..value_start + 1]
            ),
        ));
    }
    let num_len = number_prefix(value_text);
    let number_text = &value_text[..num_len];
    let unit = value_text[num_len..].trim();
    let unit_start = value_start + value_text.len() - value_text[num_len..].trim_start().len();
    let Ok(number) = number_text.replace('_', "").parse::<f64>() else {
        return Err(err(
            value_start,
            value_start + value_text.len(),
            format!("\"{value_text}\" is not a number with an optional unit (ms, s, m, %)"),
        ));
    };
    let unit_err = |message: String| err(unit_start, unit_start + unit.len().max(1), message);
    let threshold = match (def.kind, unit) {
        (MetricKind::Time, "" | "ms") => number,
        (MetricKind::Time, "s") => number * 1_000.0,
        (MetricKind::Time, "m") => number * 60_000.0,
        (MetricKind::Time, u) => {
            return Err(unit_err(format!(
                "\"{u}\" is not a unit of time for \"{metric_name}\"; use ms, s or m"
            )));
        }
        (MetricKind::Share | MetricKind::Ratio, "%") => number / 100.0,
        (MetricKind::Share, "") if !(0.0..=1.0).contains(&number) => {
            return Err(err(
                value_start,
                value_start + value_text.len(),
                format!(
                    "\"{metric_name}\" is a share from 0 to 1; did you mean {}%?",
                    value_text
                ),
            ));
        }
        (MetricKind::Share | MetricKind::Ratio, "") => number,
        (MetricKind::Share | MetricKind::Ratio, u) => {
            return Err(unit_err(format!(
                "\"{metric_name}\" is a share; write it as a percentage like 0.1% or a fraction like 0.001, not with \"{u}\""
            )));
        }
        (MetricKind::Count | MetricKind::Rate | MetricKind::Money, "") => number,
        (kind, u) => {
            let what = match kind {
                MetricKind::Count => "a count",
                MetricKind::Rate => "transactions per second",
                _ => "an amount in USD",
            };
            return Err(unit_err(format!(
                "\"{metric_name}\" is {what}; write a plain number, without \"{u}\""
            )));
        }
    };
    Ok(Check {
        metric: def.name,
        kind: def.kind,
        op,
        threshold,
        text: format!("{} {} {}{}", def.name, op.symbol(), number_text, unit),
    })
}

/// Length of the leading `-?[0-9_]+(\.[0-9]+)?` of `s`.
fn number_prefix(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_examples() {
        let c = parse("latency.p95 < 2s").unwrap();
        assert_eq!(
            (c.metric, c.op, c.threshold),
            ("latency.p95", Op::Lt, 2000.0)
        );
        let c = parse("error_rate < 0.1%").unwrap();
        assert!((c.threshold - 0.001).abs() < 1e-12);
        let c = parse("fraud.recall > 90%").unwrap();
        assert!((c.threshold - 0.9).abs() < 1e-12);
        let c = parse("lost == 0").unwrap();
        assert_eq!((c.op, c.threshold), (Op::Eq, 0.0));
        let c = parse("latency.p99.9<=1m").unwrap();
        assert_eq!(
            (c.metric, c.threshold, c.text.as_str()),
            ("latency.p99.9", 60_000.0, "latency.p99.9 <= 1m")
        );
        assert_eq!(parse("recovery_time < 60s").unwrap().threshold, 60_000.0);
        assert_eq!(parse("latency.p50 < 250").unwrap().threshold, 250.0);
    }

    #[test]
    fn rejects_with_the_part_at_fault() {
        let e = parse("latency.p96 < 2s").unwrap_err();
        assert_eq!((e.start, e.end), (0, 11));
        assert!(
            e.message.contains("did you mean \"latency.p95\""),
            "{}",
            e.message
        );
        let e = parse("error_rate < 2s").unwrap_err();
        assert_eq!((e.start, e.end), (14, 15));
        let e = parse("error_rate < 5").unwrap_err();
        assert!(e.message.contains("5%"), "{}", e.message);
        assert!(parse("latency.p95 2s").is_err());
        assert!(parse("requests > 10ms").is_err());
        assert!(parse("latency.p95 < fast").is_err());
        assert!(parse("latency.p95 =< 2s").is_err());
    }
}
