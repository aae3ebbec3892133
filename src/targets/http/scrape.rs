//! Scraping a probe during a run: one task per probe on the run's runtime, with its own
//! connection (a pool of one, outside the load's), scraping every `every` of plan time from the
//! run's start. Each scrape's values, or why it failed, go to the run loop, which records them;
//! a failed scrape is counted there and never stops the run.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use tokio::sync::mpsc;

use super::Endpoint;
use super::client::{Pool, Transport, status_failure};
use crate::probe::{Failed, Selector, read};
use crate::targets::PlanClock;

/// What one scrape found: the value of each series (None where nothing matched), or why the
/// scrape failed.
#[derive(Clone, Debug, PartialEq)]
pub struct Scrape {
    pub probe: usize,
    /// Plan time of the scrape's start.
    pub at_ns: u64,
    pub result: Result<Vec<Option<f64>>, Failed>,
}

/// A probe ready to scrape.
pub struct Scraper {
    pub probe: usize,
    pub endpoint: Endpoint,
    pub transport: Transport,
    pub every: Duration,
    pub timeout: Duration,
    pub selectors: Vec<Selector>,
}

const ACCEPT: &str =
    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

impl Scraper {
    /// Scrapes at plan times 0, every, 2·every, ... (a scrape that falls due while the run is
    /// paused waits for the resume) until the task is aborted.
    pub async fn run(self, clock: Arc<PlanClock>, out: mpsc::UnboundedSender<Scrape>) {
        let every = self.every.as_nanos() as u64;
        let mut pool: Option<Pool> = None;
        let mut next = 0u64;
        loop {
            let now = clock.now();
            if now < next || clock.paused() {
                let wait = next.saturating_sub(now).clamp(1_000_000, every);
                tokio::time::sleep(Duration::from_nanos(wait)).await;
                continue;
            }
            next = (now / every + 1) * every;
            let result = match tokio::time::timeout(self.timeout, self.scrape(&mut pool)).await {
                Ok(r) => r,
                Err(_) => Err(Failed {
                    kind: "timeout",
                    detail: format!("no answer within {:?}", self.timeout),
                }),
            };
            let scrape = Scrape {
                probe: self.probe,
                at_ns: now,
                result,
            };
            if out.send(scrape).is_err() {
                return;
            }
        }
    }

    async fn scrape(&self, pool: &mut Option<Pool>) -> Result<Vec<Option<f64>>, Failed> {
        let pool = match pool {
            Some(p) => p,
            None => {
                let addr = self.endpoint.resolve().await.map_err(|e| Failed {
                    kind: "refused",
                    detail: e.to_string(),
                })?;
                pool.insert(Pool::with(addr, 1, self.transport.clone()))
            }
        };
        let req = Request::get(self.endpoint.path.as_str())
            .header(hyper::header::ACCEPT, ACCEPT)
            .body(Full::new(Bytes::new()))
            .map_err(|e| Failed {
                kind: "bad-request",
                detail: e.to_string(),
            })?;
        let answer = pool.send(req).await.map_err(|kind| Failed {
            kind: kind.name(),
            detail: format!("{} from {}", kind.name(), self.endpoint.authority),
        })?;
        if let Some(kind) = status_failure(answer.status) {
            return Err(Failed {
                kind: kind.name(),
                detail: format!("answered {}", answer.status),
            });
        }
        let text = std::str::from_utf8(&answer.body).map_err(|_| Failed {
            kind: "not-text",
            detail: "the answer is not UTF-8 text".to_string(),
        })?;
        if let Some(line) = crate::probe::not_an_exposition(text) {
            return Err(Failed {
                kind: "not-metrics",
                detail: format!("the answer is not Prometheus or OpenMetrics text: {line}"),
            });
        }
        let selectors: Vec<&Selector> = self.selectors.iter().collect();
        Ok(read(text, &selectors))
    }
}
