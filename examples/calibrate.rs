use gauntlet::rng::{self, Purpose};
use gauntlet::scenario::model::Workload;
use gauntlet::targets::Decision;
use gauntlet::targets::simulated::scorer;
use gauntlet::workload::Generator;

fn main() {
    let g = Generator::new(11, &Workload::default());
    let mut noise = rng::stream(11, Purpose::ModelNoise, 0);
    let mut per: std::collections::BTreeMap<String, (u32, u32, u32)> = Default::default();
    let (mut legit, mut fp, mut fp_rules) = (0u32, 0u32, 0u32);
    for i in 0..300_000 {
        let tx = g.transaction(i);
        let p = scorer::ml_probability(&tx, noise.normal());
        let d = scorer::combine(p, Some(scorer::rules(&tx)));
        let r = scorer::rules(&tx);
        if tx.fraud {
            let e = per.entry(format!("{:?}", tx.pattern.unwrap())).or_default();
            e.0 += 1;
            e.1 += (d != Decision::Approve) as u32;
            e.2 += (r != Decision::Approve) as u32;
        } else {
            legit += 1;
            fp += (d != Decision::Approve) as u32;
            fp_rules += (r != Decision::Approve) as u32;
        }
    }
    let (mut n, mut c, mut cr) = (0, 0, 0);
    for (k, (t, h, r)) in &per {
        println!(
            "{k:20} n={t:5} healthy={:.3} rules={:.3}",
            *h as f64 / *t as f64,
            *r as f64 / *t as f64
        );
        n += t;
        c += h;
        cr += r;
    }
    println!(
        "recall healthy {:.3} rules {:.3}; fpr healthy {:.4} rules {:.4}",
        c as f64 / n as f64,
        cr as f64 / n as f64,
        fp as f64 / legit as f64,
        fp_rules as f64 / legit as f64
    );
}
