//! Arrivals and their transactions produced ahead of the simulated run loop, on another
//! thread, each transaction as the facts the model needs of it (`Facts`: its label, amount,
//! the scorer's logit before noise and the rules' decision). Both depend on (seed, index)
//! alone, so producing them elsewhere changes nothing in
//! the run but where the work is done: the loop receives them in the order the plan gives
//! them, in batches, through a bounded channel (so the producer stays at most a few batches
//! ahead and memory stays bounded).
//!
//! The producer can be called back (`stop`): it hands back its iterator at the first arrival
//! it has not sent, so a run that stops or reloads goes on with the same arrivals, in order,
//! without generating transactions nobody will send.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::plan::{Arrival, Arrivals, Plan};
use crate::targets::simulated::scorer::Facts;

/// Arrivals per batch: large enough that the channel's cost per arrival vanishes (each batch
/// the loop takes wakes the producer, a system call: 512 per batch spent about 2.5% of the
/// loop's time there on `peak-load`), small enough that the batches in flight stay in the
/// cache (128 KB each).
const BATCH: usize = 2048;
/// Batches the producer may hold ready ahead of the loop.
const DEPTH: usize = 4;

type Batch = Vec<(Arrival, Facts)>;

/// The consuming end: arrivals with their transactions, in plan order.
pub struct Ahead {
    batch: std::vec::IntoIter<(Arrival, Facts)>,
    rx: Receiver<Batch>,
    /// Emptied batches go back to the producer to be filled again.
    recycle: SyncSender<Batch>,
    stop: Arc<AtomicBool>,
    producer: Option<JoinHandle<Arrivals<Arc<Plan>>>>,
}

impl Ahead {
    /// Starts producing `arrivals` (and each one's transaction, from `plan`'s workload).
    pub fn start(plan: Arc<Plan>, mut arrivals: Arrivals<Arc<Plan>>) -> Ahead {
        let (tx, rx) = sync_channel::<Batch>(DEPTH);
        let (recycle, recycled) = sync_channel::<Batch>(DEPTH + 2);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        // Like every thread the engines start, it fails only when the OS has none left.
        let producer = std::thread::spawn(move || {
            let mut profiles = plan.profiles();
            let mut arrived = Vec::with_capacity(BATCH);
            loop {
                if stopping.load(Ordering::Relaxed) {
                    return arrivals;
                }
                let mut batch = recycled
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                batch.clear();
                arrived.clear();
                arrived.extend(arrivals.by_ref().take(BATCH));
                plan.transactions_with(&arrived, &mut profiles, |&a, tx| {
                    batch.push((a, Facts::of(&tx)));
                });
                let last = arrived.len() < BATCH;
                // Sent batches are all received: a stopping consumer drains the channel.
                if tx.send(batch).is_err() || last {
                    return arrivals;
                }
            }
        });
        Ahead {
            batch: Vec::new().into_iter(),
            rx,
            recycle,
            stop,
            producer: Some(producer),
        }
    }

    /// The next arrival and its transaction.
    pub fn next(&mut self) -> Option<(Arrival, Facts)> {
        loop {
            if let Some(item) = self.batch.next() {
                return Some(item);
            }
            let batch = self.rx.recv().ok()?;
            let done = std::mem::replace(&mut self.batch, batch.into_iter());
            let _ = self.recycle.try_send(reuse(done));
        }
    }

    /// Stops the producer: the arrivals not taken yet, in order (those produced already,
    /// then the rest of the iterator, left at the first one not produced).
    pub fn stop(mut self) -> (Vec<Arrival>, Option<Arrivals<Arc<Plan>>>) {
        self.stop.store(true, Ordering::Relaxed);
        let mut left: Vec<Arrival> = self.batch.by_ref().map(|(a, _)| a).collect();
        // The producer returns after its current batch; every batch it sent is received.
        while let Ok(batch) = self.rx.recv() {
            left.extend(batch.into_iter().map(|(a, _)| a));
        }
        let rest = self.producer.take().and_then(|h| h.join().ok());
        (left, rest)
    }
}

/// An emptied batch's allocation, to be filled again.
fn reuse(done: std::vec::IntoIter<(Arrival, Facts)>) -> Batch {
    let mut v: Batch = done.collect();
    v.clear();
    v
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Unblocks a producer waiting to send, which then returns.
        while self.rx.try_recv().is_ok() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Arc<Plan> {
        Arc::new(crate::plan::compile_text(
            "[scenario]\nname = \"a\"\nseed = 7\narrivals = \"poisson\"\n[[phase]]\nname = \"m\"\nduration = \"5s\"\nload = { pattern = \"constant\", rate = 1500 }\n",
        ))
    }

    #[test]
    fn produces_what_the_plan_gives_in_order() {
        let plan = plan();
        let expected: Vec<(Arrival, Facts)> = Arrivals::starting_at(plan.clone(), 0, 0)
            .map(|a| (a, Facts::of(&plan.transaction(a.index))))
            .collect();
        assert!(expected.len() > 3 * BATCH, "spans several batches");
        let mut ahead = Ahead::start(plan.clone(), Arrivals::starting_at(plan.clone(), 0, 0));
        let got: Vec<(Arrival, Facts)> = std::iter::from_fn(|| ahead.next()).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn a_stopped_producer_hands_back_every_arrival_not_taken() {
        let plan = plan();
        let all: Vec<Arrival> = Arrivals::starting_at(plan.clone(), 0, 0).collect();
        let mut ahead = Ahead::start(plan.clone(), Arrivals::starting_at(plan.clone(), 0, 0));
        let taken: Vec<Arrival> = (0..BATCH + 37)
            .map_while(|_| ahead.next())
            .map(|(a, _)| a)
            .collect();
        let (left, rest) = ahead.stop();
        let mut again = taken;
        again.extend(left);
        again.extend(rest.expect("the producer hands its iterator back"));
        assert_eq!(again, all);
    }
}
