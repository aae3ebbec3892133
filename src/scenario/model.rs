//! The scenario as written: serde + schemars types for every key of the scenario language v1.
//! These types are the source of `schemas/scenario.schema.json`; their doc comments become the
//! schema's descriptions, which editors show while a person types. Nothing here checks meaning
//! across keys (that is `plan::compile`); the schema checks shape, types and ranges.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use crate::units::Duration;

/// The pattern every name (scenario, phase, component, failure) must match.
pub const NAME_PATTERN: &str = "^[a-z0-9][a-z0-9-]*$";
/// Failure names in `during` may name one occurrence of a repeated failure: `NAME#k`.
pub const OCCURRENCE_PATTERN: &str = "^[a-z0-9][a-z0-9-]*(#[0-9]+)?$";
/// The largest rate a scenario may ask for, in transactions per second.
pub const MAX_RATE: f64 = 100_000_000.0;

/// A name: lower-case letters, digits and dashes, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(pub String);

impl JsonSchema for Name {
    fn schema_name() -> Cow<'static, str> {
        "Name".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": NAME_PATTERN,
            "maxLength": 64,
            "description": "A name: lower-case letters, digits and dashes, e.g. \"ramp-up\"."
        })
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A rate in transactions per second (TPS), 0 or more.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Rate(pub f64);

impl JsonSchema for Rate {
    fn schema_name() -> Cow<'static, str> {
        "Rate".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "number",
            "minimum": 0,
            "maximum": MAX_RATE,
            "description": "A rate in transactions per second (TPS); 0 is allowed."
        })
    }
}

/// A fraction: a number from 0 to 1.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fraction(pub f64);

impl JsonSchema for Fraction {
    fn schema_name() -> Cow<'static, str> {
        "Fraction".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "A fraction from 0 to 1 (0.02 is 2%)."
        })
    }
}

/// A gauntlet scenario: phases of load, failures to inject and the criteria that judge the run.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "gauntlet scenario")]
pub struct Scenario {
    /// What the scenario is called, its seed and how arrivals are spaced.
    pub scenario: Meta,
    /// The system under test: the built-in simulated model (default) or a real HTTP service.
    #[serde(default)]
    pub target: Target,
    /// The transactions sent: seeded payment transactions with ground-truth fraud labels.
    #[serde(default)]
    pub workload: Workload,
    /// Phases of load, run back to back in file order.
    #[serde(rename = "phase")]
    #[schemars(length(min = 1))]
    pub phases: Vec<Phase>,
    /// Failures injected into the target while the load runs.
    #[serde(rename = "failure", default)]
    pub failures: Vec<Failure>,
    /// Success criteria, `check = "METRIC OP VALUE"`, judged at the end (or live with `abort`).
    #[serde(rename = "criterion", default)]
    pub criteria: Vec<Criterion>,
    /// Server-side metrics scraped during the run (http targets): Prometheus or OpenMetrics
    /// text endpoints and the series to keep from them.
    #[serde(rename = "probe", default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<Probe>,
    /// The cost model behind the business figures; without it, business figures use default
    /// prices and say so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business: Option<Business>,
    /// When a second counts as broken, for the capacity figure (the planned rate of the last
    /// second before the first broken one).
    #[serde(default)]
    pub capacity: Capacity,
    /// Which reports to render and where.
    #[serde(default)]
    pub report: Report,
    /// How `gauntlet compare` judges this scenario's runs against a baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<CompareTable>,
}

/// `[compare]`: the regressions `gauntlet compare BASELINE RUN` fails on when no
/// `--max-regression` is given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareTable {
    /// `METRIC=LIMIT,...`, e.g. `"latency.p95=10%,error_rate=0.1pt,recovery_time=5s,fraud.recall=-2pt"`:
    /// a change of the figure in its worse direction beyond the limit, with its whole 95%
    /// interval beyond it, is a regression. `%` is relative, `pt` points of a share, `ms`, `s`,
    /// `m` a time.
    pub max_regression: String,
}

/// `[scenario]`: identity and randomness.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Used in result folder names.
    pub name: Name,
    /// Shown in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The only source of randomness: same file + same seed = same plan. `--seed` overrides it.
    #[schemars(range(min = 0))]
    pub seed: u64,
    /// How arrivals are spaced within the rate curve.
    #[serde(default)]
    pub arrivals: ArrivalKind,
}

/// Spacing of arrivals within the rate curve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArrivalKind {
    /// Evenly spaced: exactly round(integral of the rate) arrivals per phase.
    #[default]
    Uniform,
    /// A seeded Poisson process following the same rate curve.
    Poisson,
}

/// `[target]`: what the load is driven against.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Target {
    /// The built-in model of a fraud-detection service, run in virtual time (the default).
    Simulated {
        /// The built-in model to run.
        #[serde(default)]
        model: Model,
        /// The client's timeout: a transaction unanswered after it counts as a timeout (default 5s).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<Duration>,
        /// Tuning of the model's components.
        #[serde(default)]
        components: Components,
    },
    /// A real HTTP service.
    Http {
        /// The `http://` or `https://` URL every transaction is sent to. `${NAME}` and
        /// `${NAME:-default}` expand environment variables (or `--env`) when the run starts.
        #[schemars(regex(
            pattern = r"^(https?://[^\s/?#]+([/?#]\S*)?|\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}\S*)$"
        ))]
        url: String,
        /// The HTTP method (default POST).
        #[serde(default = "default_method")]
        #[schemars(regex(pattern = "^[A-Z]+$"))]
        method: String,
        /// Request headers; `${NAME}` expands the environment variable NAME (missing is an
        /// error) and `${NAME:-default}` falls back to the default.
        #[serde(default)]
        headers: BTreeMap<String, String>,
        /// The request body: `"transaction"` (the transaction as JSON), `{ template = "PATH" }`
        /// or `"none"`. Default: the transaction for POST, PUT and PATCH, none for other methods.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Body>,
        /// A request slower than this counts as a timeout (default 5s).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<Duration>,
        /// Maximum open connections (default 256).
        #[serde(default = "default_connections")]
        #[schemars(range(min = 1, max = 100000))]
        connections: u32,
        /// Arrivals beyond this many in flight are counted as `dropped` (default 10000).
        #[serde(default = "default_max_in_flight")]
        #[schemars(range(min = 1, max = 10000000))]
        max_in_flight: u64,
        /// Where the service's fraud decision is in its JSON response.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decision: Option<DecisionMap>,
        /// The HTTP version: "1.1" (the default) or "2" (ALPN over TLS, prior knowledge over
        /// cleartext); with "2", `connections` is the number of HTTP/2 connections and requests
        /// are multiplexed on them.
        #[serde(default, skip_serializing_if = "HttpVersion::is_default")]
        http: HttpVersion,
        /// TLS for an `https://` URL: a CA to trust, a client certificate, the name to verify.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tls: Option<Tls>,
        /// What a good answer looks like: a response that fails it is an error of kind
        /// `check`, whatever its status.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expect: Option<Expect>,
        /// A request mix (`[[target.request]]`): each arrival sends one of these, chosen by
        /// weight from its own seeded stream. Each field defaults to the target's.
        #[serde(default, rename = "request", skip_serializing_if = "Vec::is_empty")]
        #[schemars(length(max = 100))]
        requests: Vec<RequestSpec>,
    },
}

/// `[[target.request]]`: one request of a mix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// Its name in results, reports and criteria (`request = "score"`).
    pub name: Name,
    /// Its share of the arrivals, relative to the other requests' weights (default 1).
    #[serde(default = "default_weight")]
    #[schemars(range(min = 0.0, max = 1e9))]
    pub weight: f64,
    /// The method (default: the target's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[A-Z]+$"))]
    pub method: Option<String>,
    /// A path appended to the target's `url` (e.g. "/score").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[/?]\S*$"))]
    pub path: Option<String>,
    /// Its own URL instead, on the target's scheme, host and port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Headers added to (or replacing) the target's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The body (default: the target's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// Where its answer holds the fraud decision (default: the target's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionMap>,
    /// What a good answer looks like (default: the target's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
}

fn default_weight() -> f64 {
    1.0
}

/// `expect`: what a good answer looks like.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Statuses that are good answers (default: any 2xx). A 2xx outside the list fails the
    /// check; another status outside it keeps its own kind (`status-5xx`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub status: Vec<StatusCode>,
    /// JSON pointers the body must hold, each with the values allowed there (strings; other
    /// JSON values compare by their JSON text). An empty list only asks that it be there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub json: BTreeMap<String, Vec<String>>,
    /// The largest good body, e.g. "1MiB".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body: Option<crate::units::ByteSize>,
}

/// An HTTP status code, 100 to 999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct StatusCode(#[schemars(range(min = 100, max = 999))] pub u16);

/// `[target] http`: the HTTP version spoken to the service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum HttpVersion {
    #[default]
    #[serde(rename = "1.1")]
    Http1,
    #[serde(rename = "2")]
    Http2,
}

impl HttpVersion {
    pub fn is_default(&self) -> bool {
        *self == HttpVersion::Http1
    }

    pub fn name(self) -> &'static str {
        match self {
            HttpVersion::Http1 => "1.1",
            HttpVersion::Http2 => "2",
        }
    }
}

/// `[target.tls]`: how an `https://` service is trusted and how gauntlet proves itself to it.
/// Paths are relative to the scenario file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// A PEM file of CA certificates to trust, besides the system's (a private CA, or the
    /// service's self-signed certificate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// A PEM client certificate (chain) for mutual TLS; needs `key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    /// The PEM private key of `cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The name to verify the certificate against and to send as SNI, when it is not the
    /// URL's host (e.g. the URL holds an IP address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// Skip verifying the service's certificate. Warned about on stderr and recorded in
    /// results.json; never for production.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
}

fn default_method() -> String {
    "POST".to_string()
}
fn default_connections() -> u32 {
    256
}
fn default_max_in_flight() -> u64 {
    10_000
}

impl Default for Target {
    fn default() -> Self {
        Target::Simulated {
            model: Model::default(),
            timeout: None,
            components: Components::default(),
        }
    }
}

impl Target {
    /// The client-side timeout, defaulting to 5 s for both kinds.
    pub fn timeout(&self) -> Duration {
        let t = match self {
            Target::Simulated { timeout, .. } | Target::Http { timeout, .. } => *timeout,
        };
        t.unwrap_or(Duration::from_secs(5))
    }
}

/// The built-in models.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Model {
    /// gateway -> feature-store -> ml-scorer + rules-engine -> decision.
    #[default]
    #[serde(rename = "fraud-pipeline")]
    FraudPipeline,
}

/// Tuning of the fraud-pipeline's components; unknown component names are errors.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Components {
    /// Admission: a bounded queue that sheds load (503) when full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<ComponentTuning>,
    /// Enrichment lookups with a rate capacity; throttled calls are retried with backoff.
    #[serde(
        default,
        rename = "feature-store",
        skip_serializing_if = "Option::is_none"
    )]
    pub feature_store: Option<ComponentTuning>,
    /// Model inference with a concurrency limit and cold starts after a crash.
    #[serde(default, rename = "ml-scorer", skip_serializing_if = "Option::is_none")]
    pub ml_scorer: Option<ComponentTuning>,
    /// Fast deterministic rules.
    #[serde(
        default,
        rename = "rules-engine",
        skip_serializing_if = "Option::is_none"
    )]
    pub rules_engine: Option<ComponentTuning>,
    /// Combines the scores into approve / review / block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<ComponentTuning>,
}

/// The names of the fraud-pipeline's components, in pipeline order.
pub const COMPONENTS: [&str; 5] = [
    "gateway",
    "feature-store",
    "ml-scorer",
    "rules-engine",
    "decision",
];

impl Components {
    /// The tuning given for `name`, with the pointer key it was written under.
    pub fn entries(&self) -> [(&'static str, Option<&ComponentTuning>); 5] {
        [
            ("gateway", self.gateway.as_ref()),
            ("feature-store", self.feature_store.as_ref()),
            ("ml-scorer", self.ml_scorer.as_ref()),
            ("rules-engine", self.rules_engine.as_ref()),
            ("decision", self.decision.as_ref()),
        ]
    }
}

/// `[target.components.NAME]`: overrides of one component's defaults.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentTuning {
    /// How many calls it serves at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000000))]
    pub concurrency: Option<u32>,
    /// How many calls may wait for a free slot; more are rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100000000))]
    pub queue: Option<u32>,
    /// Lognormal service time given by its median and 99th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_time: Option<ServiceTime>,
    /// How long its caller waits for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

/// A lognormal service time: `{ median = "20ms", p99 = "80ms" }`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceTime {
    /// Half of the calls take less than this.
    pub median: Duration,
    /// 99% of the calls take less than this; at least the median.
    pub p99: Duration,
}

/// The request body of an HTTP target: `"transaction"` (the transaction as JSON),
/// `{ template = "PATH" }` (a minijinja template rendered with `tx`, relative to the scenario)
/// or `"none"` (no body).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Body {
    #[default]
    Transaction,
    Template(String),
    None,
}

impl Body {
    /// The body a request sends when the scenario does not say: the transaction for the
    /// methods that carry content (POST, PUT, PATCH), none for the others (GET, HEAD,
    /// DELETE, OPTIONS, ...), as k6's and curl's defaults go.
    pub fn default_for(method: &str) -> Body {
        if matches!(method, "POST" | "PUT" | "PATCH") {
            Body::Transaction
        } else {
            Body::None
        }
    }

    /// The body a request with `method` sends: the one the scenario gives, else the method's
    /// default.
    pub fn or_default_for(given: Option<&Body>, method: &str) -> Body {
        given.cloned().unwrap_or_else(|| Body::default_for(method))
    }
}

impl Serialize for Body {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Body::Transaction => s.serialize_str("transaction"),
            Body::None => s.serialize_str("none"),
            Body::Template(path) => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("template", path)?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Literal(String),
            Template(TemplateRef),
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct TemplateRef {
            template: String,
        }
        match Repr::deserialize(d)? {
            Repr::Literal(s) if s == "transaction" => Ok(Body::Transaction),
            Repr::Literal(s) if s == "none" => Ok(Body::None),
            Repr::Literal(s) => Err(serde::de::Error::custom(format!(
                "unknown body \"{s}\"; expected \"transaction\", \"none\" or {{ template = \"PATH\" }}"
            ))),
            Repr::Template(t) => Ok(Body::Template(t.template)),
        }
    }
}

impl JsonSchema for Body {
    fn schema_name() -> Cow<'static, str> {
        "Body".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The request body: \"transaction\" (the transaction as JSON), { template = \"PATH\" } (a minijinja template rendered with `tx`, relative to the scenario file) or \"none\" (no body). Default: the transaction for POST, PUT and PATCH, none for other methods.",
            "oneOf": [
                { "enum": ["transaction", "none"] },
                {
                    "type": "object",
                    "properties": { "template": { "type": "string", "minLength": 1 } },
                    "required": ["template"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// Where the fraud decision is in the service's JSON response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionMap {
    /// A JSON pointer into the response, e.g. "/decision".
    #[schemars(regex(pattern = "^(/.*)?$"))]
    pub pointer: String,
    /// Values at the pointer that mean the transaction was blocked.
    #[serde(default)]
    pub block: Vec<String>,
    /// Values at the pointer that mean the transaction was sent to review.
    #[serde(default)]
    pub review: Vec<String>,
}

/// `[workload]`: payment transactions with ground-truth fraud labels.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// The kind of workload (v1 has one: payments).
    #[serde(default)]
    pub kind: WorkloadKind,
    /// Share of fraudulent transactions (default 0.02).
    #[serde(default = "default_fraud_rate")]
    pub fraud_rate: Fraction,
    /// Share of edge cases: zero and huge amounts, rare currencies, odd characters (default 0.005).
    #[serde(default = "default_edge_case_rate")]
    pub edge_case_rate: Fraction,
    /// Size of the customer population (default 100000).
    #[serde(default = "default_customers")]
    #[schemars(range(min = 1, max = 1000000000))]
    pub customers: u64,
    /// Weights of customers' home countries, by ISO 3166 code: `{ US = 0.4, GB = 0.2 }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("propertyNames" = { "pattern": "^[A-Z]{2}$" }, "minProperties" = 1))]
    pub countries: Option<BTreeMap<String, Weight>>,
    /// Weights of transaction currencies, by ISO 4217 code: `{ USD = 0.5, EUR = 0.3 }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("propertyNames" = { "pattern": "^[A-Z]{3}$" }, "minProperties" = 1))]
    pub currencies: Option<BTreeMap<String, Weight>>,
}

/// A relative weight, 0 or more.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Weight(pub f64);

impl JsonSchema for Weight {
    fn schema_name() -> Cow<'static, str> {
        "Weight".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "number", "minimum": 0, "maximum": 1e9, "description": "A relative weight, 0 or more." })
    }
}

fn default_fraud_rate() -> Fraction {
    Fraction(0.02)
}
fn default_edge_case_rate() -> Fraction {
    Fraction(0.005)
}
fn default_customers() -> u64 {
    100_000
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            kind: WorkloadKind::Payments,
            fraud_rate: default_fraud_rate(),
            edge_case_rate: default_edge_case_rate(),
            customers: default_customers(),
            countries: None,
            currencies: None,
        }
    }
}

/// Workload kinds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadKind {
    /// Payment transactions with ground-truth fraud labels.
    #[default]
    Payments,
}

/// `[[phase]]`: a stretch of load with one pattern.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Unique among phases.
    pub name: Name,
    /// How long the phase lasts.
    pub duration: Duration,
    /// The rate over the phase.
    pub load: Load,
}

/// The shape of the rate over a phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "pattern", rename_all = "lowercase", deny_unknown_fields)]
pub enum Load {
    /// A flat rate.
    Constant {
        /// Transactions per second.
        rate: Rate,
    },
    /// Linear from `from` to `to`.
    Ramp {
        /// TPS at the phase's start.
        from: Rate,
        /// TPS at the phase's end.
        to: Rate,
    },
    /// A staircase of `steps` equal stairs from `from` to `to`.
    Step {
        /// TPS of the first stair.
        from: Rate,
        /// TPS of the last stair.
        to: Rate,
        /// How many stairs (at least 2).
        #[schemars(range(min = 2, max = 100000))]
        steps: u32,
    },
    /// `base`, jumping to `peak` for `hold` at the start of every `every`.
    Burst {
        /// TPS between bursts.
        base: Rate,
        /// TPS during a burst.
        peak: Rate,
        /// Time from one burst's start to the next.
        every: Duration,
        /// How long each burst lasts (at most `every`).
        hold: Duration,
    },
    /// `base + amplitude * sin(2πt/period)`, never below 0.
    Wave {
        /// The middle of the wave, TPS.
        base: Rate,
        /// How far above and below `base` it swings, TPS.
        amplitude: Rate,
        /// Length of one full wave.
        period: Duration,
    },
    /// A new seeded random level in [`min`, `max`] every `every`.
    Chaos {
        /// Lowest level, TPS.
        min: Rate,
        /// Highest level, TPS.
        max: Rate,
        /// How long each level holds.
        every: Duration,
    },
    /// 0 TPS: lets in-flight work drain and recovery be watched.
    Pause {},
}

impl Load {
    /// The load in a few words: `ramp 0 → 8000 TPS`, `burst 100 TPS, 900 for 2s every 10s`.
    pub fn describe(&self) -> String {
        let n = crate::units::number;
        match self {
            Load::Constant { rate } => format!("constant {} TPS", n(rate.0)),
            Load::Ramp { from, to } => format!("ramp {} → {} TPS", n(from.0), n(to.0)),
            Load::Step { from, to, steps } => {
                format!("step {} → {} TPS in {steps} stairs", n(from.0), n(to.0))
            }
            Load::Burst {
                base,
                peak,
                every,
                hold,
            } => {
                format!(
                    "burst {} TPS, {} for {hold} every {every}",
                    n(base.0),
                    n(peak.0)
                )
            }
            Load::Wave {
                base,
                amplitude,
                period,
            } => {
                format!(
                    "wave {} ± {} TPS, period {period}",
                    n(base.0),
                    n(amplitude.0)
                )
            }
            Load::Chaos { min, max, every } => {
                format!("chaos {}–{} TPS every {every}", n(min.0), n(max.0))
            }
            Load::Pause {} => "pause".to_string(),
        }
    }

    /// The pattern's name as written in a scenario.
    pub fn pattern(&self) -> &'static str {
        match self {
            Load::Constant { .. } => "constant",
            Load::Ramp { .. } => "ramp",
            Load::Step { .. } => "step",
            Load::Burst { .. } => "burst",
            Load::Wave { .. } => "wave",
            Load::Chaos { .. } => "chaos",
            Load::Pause {} => "pause",
        }
    }
}

/// `repeat = { every = "2m", count = 3 }`: the same failure again, `count` times in all.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// Time from one occurrence's start to the next.
    pub every: Duration,
    /// How many occurrences in all (at least 1).
    #[schemars(range(min = 1, max = 100000))]
    pub count: u32,
}

/// What a failure does to the component it hits.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Effect {
    Crash,
    Latency {
        delay: Duration,
        jitter: Duration,
    },
    Errors {
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
    },
    Throttle {
        limit: u64,
    },
    Hang,
    PacketLoss,
    Slowdown {
        factor: f64,
    },
    Bandwidth {
        bytes_per_second: u64,
    },
}

impl Effect {
    /// The kind as written in a scenario.
    pub fn kind(&self) -> &'static str {
        match self {
            Effect::Crash => "crash",
            Effect::Latency { .. } => "latency",
            Effect::Errors { .. } => "errors",
            Effect::Throttle { .. } => "throttle",
            Effect::Hang => "hang",
            Effect::PacketLoss => "packet-loss",
            Effect::Slowdown { .. } => "slowdown",
            Effect::Bandwidth { .. } => "bandwidth",
        }
    }
}

/// `[[failure]]`: a failure injected into one component for a window of time.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    pub name: Option<Name>,
    pub component: Name,
    pub phase: Option<Name>,
    pub at: Duration,
    pub duration: Duration,
    pub repeat: Option<Repeat>,
    pub probability: Option<Fraction>,
    #[serde(flatten)]
    pub effect: Effect,
}

impl Failure {
    /// The failure's name: as written, or `KIND-COMPONENT`.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(n) => n.0.clone(),
            None => format!("{}-{}", self.effect.kind(), self.component),
        }
    }
}

// The schema and the deserializer see failures as a tagged enum whose every variant repeats
// the common keys; that keeps `additionalProperties: false` exact per kind (no flatten). The
// rest of the program sees `Failure` (common keys) + `Effect` (what the kind does).
macro_rules! failure_kinds {
    ($( $(#[doc = $doc:literal])* $variant:ident { $( $(#[$meta:meta])* $field:ident : $ty:ty ),* } => $effect:expr ; )*) => {
        /// `[[failure]]`: a failure injected into one component for a window of time.
        #[derive(Deserialize, JsonSchema)]
        #[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
        #[schemars(title = "Failure")]
        enum FailureRepr {
            $(
                $(#[doc = $doc])*
                $variant {
                    /// Unique; defaults to KIND-COMPONENT.
                    #[serde(default)]
                    name: Option<Name>,
                    /// Simulated targets: a component of the model; http targets: "upstream".
                    component: Name,
                    /// `at` counts from this phase's start (default: the run's start).
                    #[serde(default)]
                    phase: Option<Name>,
                    /// When the failure starts.
                    at: Duration,
                    /// How long it lasts; it must end within the run.
                    duration: Duration,
                    /// The same failure again every `every`, `count` times in all.
                    #[serde(default)]
                    repeat: Option<Repeat>,
                    /// The share of calls the failure hits (default 1).
                    #[serde(default)]
                    probability: Option<Fraction>,
                    $( $(#[$meta])* $field: $ty, )*
                },
            )*
        }

        impl From<FailureRepr> for Failure {
            fn from(repr: FailureRepr) -> Failure {
                match repr {
                    $(
                        FailureRepr::$variant { name, component, phase, at, duration, repeat, probability, $( $field, )* } => Failure {
                            name, component, phase, at, duration, repeat, probability,
                            effect: $effect,
                        },
                    )*
                }
            }
        }
    };
}

failure_kinds! {
    /// The component refuses all work; after it ends, it restarts cold (slow at first).
    Crash {} => Effect::Crash;
    /// Every call to it takes `delay ± jitter` longer.
    Latency {
        /// Added to every call.
        delay: Duration,
        /// Spread around `delay` (default 0).
        #[serde(default)]
        jitter: Duration
    } => Effect::Latency { delay, jitter };
    /// `probability` of the calls fail.
    Errors {
        /// HTTP status of the failed calls (http targets; default 503).
        #[serde(default)]
        #[schemars(range(min = 100, max = 599))]
        status: Option<u16>
    } => Effect::Errors { status };
    /// More than `limit` calls per second are rejected (429).
    Throttle {
        /// Calls per second let through.
        #[schemars(range(min = 0, max = 100000000))]
        limit: u64
    } => Effect::Throttle { limit };
    /// Calls never answer: the caller times out.
    Hang {} => Effect::Hang;
    /// `probability` of the calls vanish: the caller times out.
    PacketLoss {} => Effect::PacketLoss;
    /// Service time multiplied by `factor` (CPU starvation).
    Slowdown {
        /// At least 1.
        #[schemars(range(min = 1, max = 1000000))]
        factor: f64
    } => Effect::Slowdown { factor };
    /// http only: responses trickle through the proxy at `bytes_per_second`.
    Bandwidth {
        /// Bytes per second let through.
        #[schemars(range(min = 1, max = 100_000_000_000_u64))]
        bytes_per_second: u64
    } => Effect::Bandwidth { bytes_per_second };
}

impl<'de> Deserialize<'de> for Failure {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        FailureRepr::deserialize(d).map(Failure::from)
    }
}

impl JsonSchema for Failure {
    fn schema_name() -> Cow<'static, str> {
        "Failure".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        FailureRepr::json_schema(generator)
    }
}

/// `[[criterion]]`: one success criterion.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// `METRIC OP VALUE`, e.g. "latency.p95 < 2s", "error_rate < 0.1%", "fraud.recall > 90%".
    #[schemars(length(min = 1, max = 200))]
    pub check: String,
    /// Judge only this phase, or these phases together (`phase = ["warm-up", "peak"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phases>,
    /// `"failures"`: judge every second outside the failure windows and the recovery after
    /// each; or a list of phases: judge the run without them (`outside = ["warm-up"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outside: Option<OutsideOf>,
    /// The criterion must hold in every window of this length (whole seconds) within its
    /// scope; the worst window is reported. For metrics read from per-second figures: counts,
    /// rates, throughput, availability and degradation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Duration>,
    /// Judge only this failure's window (`NAME`, or `NAME#k` for one occurrence of a repeat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*(#[0-9]+)?$"))]
    pub during: Option<String>,
    /// Judge only the transactions of this request of the target's mix, over the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Name>,
    /// Evaluate live, once a second, and stop the run as soon as it fails.
    #[serde(default)]
    pub abort: bool,
    /// With `abort`: how long after the scope starts before it is judged live (default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_grace: Option<Duration>,
}

/// `[[probe]]`: a Prometheus or OpenMetrics text endpoint scraped during the run, on its own
/// connection outside the load's pool.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// Unique; criteria name it (`probe.NAME.SERIES.max`).
    pub name: Name,
    /// `http://` or `https://` URL of the metrics endpoint; `${NAME}` and `${NAME:-default}`
    /// expand environment variables.
    #[schemars(
        regex(
            pattern = r"^(https?://[^\s/?#]+([/?#]\S*)?|\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}\S*)$"
        ),
        length(max = 2048)
    )]
    pub url: String,
    /// How often to scrape (default 1s, at least 100ms).
    #[serde(default = "default_every")]
    pub every: Duration,
    /// How long a scrape may take before it counts as failed (default: `every`, at most 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// The series to keep: a selector such as `process_cpu_seconds_total` or
    /// `queue{component="ml-scorer"}` (named after its metric), or a table with a `name`.
    #[schemars(length(min = 1, max = 64))]
    pub series: Vec<Series>,
}

fn default_every() -> Duration {
    Duration::from_secs(1)
}

/// A series a probe keeps.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Series {
    /// A selector, `metric` or `metric{label="value", other=~"regex"}`; named after its metric.
    Select(#[schemars(length(min = 1, max = 1024))] String),
    /// A selector with its own name.
    Named(NamedSeries),
}

/// `{ name = "scorer-queue", select = 'queue{component="ml-scorer"}', rate = false }`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedSeries {
    /// What criteria and reports call it: letters, digits, `_`, `:` and `-`.
    #[schemars(regex(pattern = r"^[A-Za-z_:][A-Za-z0-9_:-]*$"), length(max = 128))]
    pub name: String,
    /// The selector: `metric{label="value", ...}` with `=`, `!=`, `=~`, `!~`.
    #[schemars(length(min = 1, max = 1024))]
    pub select: String,
    /// Keep the per-second rate of increase instead of the value (for counters).
    #[serde(default)]
    pub rate: bool,
}

/// One phase, or a list of phases judged together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Phases {
    One(Name),
    Many(#[schemars(length(min = 1))] Vec<Name>),
}

impl Phases {
    pub fn names(&self) -> Vec<&Name> {
        match self {
            Phases::One(n) => vec![n],
            Phases::Many(list) => list.iter().collect(),
        }
    }
}

/// What `outside` leaves out of a criterion's scope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OutsideOf {
    /// `"failures"`: every failure window and the recovery after it.
    Failures(Outside),
    /// These phases: the criterion judges the others, together.
    Phases(#[schemars(length(min = 1))] Vec<Name>),
}

/// The word `outside = "failures"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outside {
    /// Every failure window and the recovery after it.
    Failures,
}

/// `[business]`: the cost model behind the business figures.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Business {
    /// USD the system costs per million transactions it handles (default 40.0).
    #[serde(default = "default_cost_per_million")]
    #[schemars(range(min = 0, max = 1e12))]
    pub cost_per_million: f64,
    /// USD of one manual review (each `review` decision; default 2.50).
    #[serde(default = "default_review_cost")]
    #[schemars(range(min = 0, max = 1e9))]
    pub review_cost: f64,
    /// USD of customer friction for blocking one legitimate transaction (default 5.00).
    #[serde(default = "default_false_positive_cost")]
    #[schemars(range(min = 0, max = 1e9))]
    pub false_positive_cost: f64,
    /// USD spent to build and roll out the system: with `monthly_transactions`, gives
    /// `business.payback_months`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1e15))]
    pub investment: Option<f64>,
    /// Transactions the system handles in a month in production.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1e15))]
    pub monthly_transactions: Option<u64>,
}

fn default_cost_per_million() -> f64 {
    40.0
}
fn default_review_cost() -> f64 {
    2.5
}
fn default_false_positive_cost() -> f64 {
    5.0
}

impl Default for Business {
    fn default() -> Self {
        Business {
            cost_per_million: default_cost_per_million(),
            review_cost: default_review_cost(),
            false_positive_cost: default_false_positive_cost(),
            investment: None,
            monthly_transactions: None,
        }
    }
}

/// `[capacity]`: when a second counts as broken, for the capacity figure. A second is also
/// broken when a run-scoped criterion judged on that second alone fails.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// A second whose errors and timeouts pass this share of the transactions due is broken
    /// (default 0.01, 1%).
    #[serde(default = "default_capacity_error_rate")]
    pub error_rate: Fraction,
    /// A second whose share of degraded decisions passes this is broken (default 0.05, 5%).
    #[serde(default = "default_capacity_degraded_share")]
    pub degraded_share: Fraction,
}

fn default_capacity_error_rate() -> Fraction {
    Fraction(0.01)
}
fn default_capacity_degraded_share() -> Fraction {
    Fraction(0.05)
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity {
            error_rate: default_capacity_error_rate(),
            degraded_share: default_capacity_degraded_share(),
        }
    }
}

/// `[report]`: which reports to render and where.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Any of "md", "html", "junit", "summary", or the name of a template in `templates`.
    /// results.json is always written.
    #[serde(default = "default_formats")]
    pub formats: Vec<Name>,
    /// Where run folders are created (default "results").
    #[serde(default = "default_dir")]
    #[schemars(length(min = 1))]
    pub dir: String,
    /// A folder of minijinja templates that replace or add to the built-in ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub templates: Option<String>,
}

/// Report formats built into gauntlet.
pub const BUILTIN_FORMATS: [&str; 4] = ["md", "html", "junit", "summary"];

fn default_formats() -> Vec<Name> {
    ["md", "html", "junit"]
        .iter()
        .map(|s| Name(s.to_string()))
        .collect()
}
fn default_dir() -> String {
    "results".to_string()
}

impl Default for Report {
    fn default() -> Self {
        Report {
            formats: default_formats(),
            dir: default_dir(),
            templates: None,
        }
    }
}
