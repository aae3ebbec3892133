//! The aggregates of a list of scopes (the phases, the failure occurrences). Each is kept
//! whole while transactions can still land in it, and packed once its window has closed:
//! its histograms serialized (V2, lossless: a few hundred bytes to a few KB instead of about
//! 400 KB), so a scenario of thousands of short phases costs little memory. Reading one
//! gives an unpacked copy; recording into a packed one unpacks it first. A scope nothing has
//! landed in yet holds no histogram at all (a new histogram is written through, so it is
//! resident from the start).

use std::borrow::Cow;

use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};

use super::Aggregate;

pub struct Scopes {
    items: Vec<Kept>,
    sigfig: u8,
}

enum Kept {
    /// Nothing recorded yet.
    Empty,
    Open(Box<Aggregate>),
    /// The aggregate with the smallest histograms in place of its own, and its own
    /// (latency, service, lag) serialized.
    Packed(Box<(Aggregate, [Vec<u8>; 3])>),
}

fn pack(h: &Histogram<u64>) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    V2Serializer::new().serialize(h, &mut bytes).ok()?;
    Some(bytes)
}

fn unpack(bytes: &[u8]) -> Histogram<u64> {
    Deserializer::new()
        .deserialize(&mut &bytes[..])
        .expect("a histogram packed by this process unpacks")
}

fn unpacked(head: &Aggregate, hist: &[Vec<u8>; 3]) -> Aggregate {
    let mut a = head.clone();
    a.latency = unpack(&hist[0]);
    a.set_service(unpack(&hist[1]));
    a.set_lag(unpack(&hist[2]));
    a
}

impl Scopes {
    pub fn new(n: usize, sigfig: u8) -> Scopes {
        Scopes {
            items: (0..n).map(|_| Kept::Empty).collect(),
            sigfig,
        }
    }

    pub fn from_vec(aggs: Vec<Aggregate>, sigfig: u8) -> Scopes {
        Scopes {
            items: aggs.into_iter().map(|a| Kept::Open(Box::new(a))).collect(),
            sigfig,
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Scope `i`'s aggregate (unpacked when packed).
    pub fn get(&self, i: usize) -> Option<Cow<'_, Aggregate>> {
        Some(match self.items.get(i)? {
            Kept::Empty => Cow::Owned(Aggregate::new(self.sigfig)),
            Kept::Open(a) => Cow::Borrowed(a),
            Kept::Packed(p) => Cow::Owned(unpacked(&p.0, &p.1)),
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, Aggregate>> + '_ {
        (0..self.items.len()).filter_map(|i| self.get(i))
    }

    /// Scope `i`'s aggregate to record into, unpacked if it was packed.
    pub fn open_mut(&mut self, i: usize) -> Option<&mut Aggregate> {
        let kept = self.items.get_mut(i)?;
        match kept {
            Kept::Packed(p) => *kept = Kept::Open(Box::new(unpacked(&p.0, &p.1))),
            Kept::Empty => *kept = Kept::Open(Box::new(Aggregate::new(self.sigfig))),
            Kept::Open(_) => {}
        }
        match kept {
            Kept::Open(a) => Some(a),
            _ => None,
        }
    }

    /// Packs scope `i`: nothing more will land in it (unless [`Scopes::open_mut`] says so).
    pub fn pack(&mut self, i: usize) {
        let Some(kept) = self.items.get_mut(i) else {
            return;
        };
        let Kept::Open(a) = kept else {
            return;
        };
        let (Some(l), Some(s), Some(g)) = (pack(&a.latency), pack(a.service()), pack(&a.lag()))
        else {
            return; // left whole: nothing is lost, only memory
        };
        let head = a.clone_without_histograms();
        *kept = Kept::Packed(Box::new((head, [l, s, g])));
    }

    /// Takes scope `i`'s aggregate out (unpacked), leaving a fresh one.
    pub fn take(&mut self, i: usize) -> Option<Aggregate> {
        Some(
            match std::mem::replace(self.items.get_mut(i)?, Kept::Empty) {
                Kept::Empty => Aggregate::new(self.sigfig),
                Kept::Open(a) => *a,
                Kept::Packed(p) => unpacked(&p.0, &p.1),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::{Finished, Outcome};

    fn finished(latency_us: u64) -> Finished {
        Finished {
            index: 0,
            phase: 0,
            request: 0,
            planned_ns: 0,
            sent_ns: 1_000,
            done_ns: latency_us * 1_000,
            outcome: Outcome::Ok,
            degraded: false,
            decision: None,
            fraud: false,
            amount_usd_cents: 0,
        }
    }

    #[test]
    fn a_packed_scope_reads_and_records_as_an_open_one() {
        let mut open = Aggregate::new(3);
        let mut scopes = Scopes::new(2, 3);
        for us in [120, 4_500, 87_000, 87_001, 1_900_000] {
            open.record(&finished(us));
            scopes.open_mut(1).unwrap().record(&finished(us));
        }
        scopes.pack(1);
        let read = scopes.get(1).unwrap();
        assert_eq!(read.latency, open.latency);
        assert_eq!(read.service(), open.service());
        assert_eq!(read.lag(), open.lag());
        assert_eq!(read.counts, open.counts);
        assert_eq!(read.latency_sum_ns, open.latency_sum_ns);
        // A late outcome unpacks it and counts.
        open.record(&finished(33));
        scopes.open_mut(1).unwrap().record(&finished(33));
        scopes.pack(1);
        assert_eq!(scopes.get(1).unwrap().latency, open.latency);
        assert_eq!(scopes.take(1).unwrap().counts, open.counts);
        assert_eq!(
            scopes.get(1).unwrap().counts.ok,
            0,
            "take leaves a fresh one"
        );
    }
}
