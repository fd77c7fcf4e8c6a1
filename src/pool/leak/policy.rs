//! The checker's decisions, as pure functions ([`assess`], [`plan`]) of what is known about
//! each checkout at scan time ([`Facts`]) and what was already decided about it ([`Marks`]).
//! They know nothing of the pool, so they are unit-tested without a database (see the tests
//! at the end, on paused time); the checker task (`checker.rs`) only gathers facts and applies
//! the plan.

use std::time::Duration;

/// What the checker knows about one checkout at scan time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// Milliseconds since checkout.
    pub age_ms: u64,
    /// Milliseconds since the later of checkout and the end of its last query (0 while a query
    /// is in flight).
    pub idle_ms: u64,
    /// A query is running on the connection.
    pub in_flight: bool,
    /// The implicit checkout of `pool.query`: it releases itself, so it is never reported or
    /// reclaimed (it is still counted everywhere else).
    pub implicit: bool,
    /// The effective leak threshold; `None` when leak reports are off for this checkout.
    pub threshold_ms: Option<u64>,
    /// The effective idle limit; `None` when this checkout is never reclaimed.
    pub force_after_ms: Option<u64>,
}

/// What the checker already decided about a checkout (kept in its registry record).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marks {
    /// Reported in a `leaksDetected` event (never again).
    pub reported: bool,
    /// Over its threshold but not reported yet (held back by `maxLeaksBeforeAlert`).
    pub held_back: bool,
}

/// The outcome of one scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Checkouts to report now, in one event.
    pub report: Vec<u64>,
    /// Checkouts to reclaim (idle too long).
    pub reclaim: Vec<u64>,
}

/// A per-checkout override (`Some(None)`: exempt) laid over the pool's setting; 0 means off.
pub fn effective_ms(over: Option<Option<u64>>, pool: Option<Duration>) -> Option<u64> {
    match over {
        Some(v) => v,
        None => pool.map(|d| d.as_millis() as u64),
    }
    .filter(|&ms| ms > 0)
}

/// Decides about one checkout: updates `marks` (a checkout over its threshold and not yet
/// reported becomes held back; one whose threshold was raised or removed since is no longer
/// held back) and returns whether it must be reclaimed now. Never reclaims mid-query.
pub fn assess(f: &Facts, marks: &mut Marks) -> bool {
    if f.implicit {
        return false;
    }
    if !marks.reported {
        marks.held_back = matches!(f.threshold_ms, Some(t) if f.age_ms >= t);
    }
    idle_too_long(f)
}

/// Whether a checkout has been idle past its limit (never mid-query): what makes the checker
/// reclaim it, decided again when the reclaim runs.
pub fn idle_too_long(f: &Facts) -> bool {
    !f.implicit && matches!(f.force_after_ms, Some(limit) if !f.in_flight && f.idle_ms >= limit)
}

/// True when `pending` held-back leaks are enough to report (`maxLeaksBeforeAlert`).
pub fn report_now(pending: usize, max_leaks_before_alert: usize) -> bool {
    pending > 0 && pending >= max_leaks_before_alert.max(1)
}

/// One scan over `(id, facts, marks)` entries: assesses each, then, if enough leaks are
/// pending, marks all of them reported. Reported ids are returned oldest first.
pub fn plan(entries: &mut [(u64, Facts, Marks)], max_leaks_before_alert: usize) -> Plan {
    let mut out = Plan::default();
    let mut pending = 0usize;
    for (id, facts, marks) in entries.iter_mut() {
        if assess(facts, marks) {
            out.reclaim.push(*id);
        }
        if marks.held_back {
            pending += 1;
        }
    }
    if report_now(pending, max_leaks_before_alert) {
        let mut due: Vec<(u64, u64)> = Vec::with_capacity(pending);
        for (id, facts, marks) in entries.iter_mut() {
            if marks.held_back {
                marks.held_back = false;
                marks.reported = true;
                due.push((facts.age_ms, *id));
            }
        }
        due.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        out.report = due.into_iter().map(|(_, id)| id).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    //! The checker's decisions over simulated checkouts on paused tokio time: each checkout
    //! has an acquisition instant, the end of its last query and whether a query runs, and a
    //! "scan" every `checkIntervalMs` computes its facts exactly as the real checker does.

    use super::*;
    use std::collections::HashMap;
    use tokio::time::{advance, Instant as TInstant};

    const TICK: Duration = Duration::from_millis(20);

    struct Sim {
        threshold: Option<Duration>,
        force: Option<Duration>,
        max_before_alert: usize,
        recs: Vec<SimRec>,
        reports: Vec<Vec<u64>>,
        reclaimed: Vec<u64>,
    }

    struct SimRec {
        id: u64,
        acquired: TInstant,
        last_done: TInstant,
        in_flight: bool,
        implicit: bool,
        threshold: Option<Option<u64>>,
        force: Option<Option<u64>>,
        marks: Marks,
    }

    impl Sim {
        fn new(threshold_ms: u64, force_ms: u64, max_before_alert: usize) -> Sim {
            let d = |ms: u64| (ms > 0).then(|| Duration::from_millis(ms));
            Sim {
                threshold: d(threshold_ms),
                force: d(force_ms),
                max_before_alert,
                recs: vec![],
                reports: vec![],
                reclaimed: vec![],
            }
        }

        fn checkout(&mut self, id: u64) -> &mut SimRec {
            let now = TInstant::now();
            self.recs.push(SimRec {
                id,
                acquired: now,
                last_done: now,
                in_flight: false,
                implicit: false,
                threshold: None,
                force: None,
                marks: Marks::default(),
            });
            self.recs.last_mut().unwrap()
        }

        fn get(&mut self, id: u64) -> &mut SimRec {
            self.recs.iter_mut().find(|r| r.id == id).unwrap()
        }

        fn release(&mut self, id: u64) {
            self.recs.retain(|r| r.id != id);
        }

        /// One scan, as `scan` does it (facts computed from instants, like `facts_of`).
        fn scan(&mut self) -> Plan {
            let now = TInstant::now();
            let mut entries: Vec<(u64, Facts, Marks)> = self
                .recs
                .iter()
                .map(|r| {
                    let since = r.acquired.max(r.last_done);
                    let facts = Facts {
                        age_ms: (now - r.acquired).as_millis() as u64,
                        idle_ms: if r.in_flight {
                            0
                        } else {
                            (now - since).as_millis() as u64
                        },
                        in_flight: r.in_flight,
                        implicit: r.implicit,
                        threshold_ms: effective_ms(r.threshold, self.threshold),
                        force_after_ms: effective_ms(r.force, self.force),
                    };
                    (r.id, facts, r.marks)
                })
                .collect();
            let plan = plan(&mut entries, self.max_before_alert);
            let marks: HashMap<u64, Marks> = entries.iter().map(|(id, _, m)| (*id, *m)).collect();
            for r in &mut self.recs {
                r.marks = marks[&r.id];
            }
            if !plan.report.is_empty() {
                self.reports.push(plan.report.clone());
            }
            for id in &plan.reclaim {
                self.reclaimed.push(*id);
                self.release(*id);
            }
            plan
        }

        /// Lets `d` of paused time pass, scanning every tick.
        async fn run_for(&mut self, d: Duration) {
            let ticks = (d.as_millis() / TICK.as_millis()) as u32;
            for _ in 0..ticks {
                advance(TICK).await;
                self.scan();
            }
        }

        fn times_reported(&self, id: u64) -> usize {
            self.reports.iter().flatten().filter(|&&x| x == id).count()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn each_leak_is_reported_once_over_many_scans() {
        let mut sim = Sim::new(100, 0, 1);
        sim.checkout(1);
        sim.run_for(Duration::from_millis(80)).await;
        assert!(
            sim.reports.is_empty(),
            "reported before the threshold: {:?}",
            sim.reports
        );
        sim.run_for(Duration::from_millis(40)).await;
        assert_eq!(sim.reports, vec![vec![1]]);
        sim.run_for(Duration::from_secs(10)).await;
        assert_eq!(sim.times_reported(1), 1, "{:?}", sim.reports);
        assert!(sim.get(1).marks.reported);
        assert!(
            sim.reclaimed.is_empty(),
            "forceReleaseAfterMs 0 must never reclaim"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn short_checkouts_and_implicit_ones_are_never_reported() {
        let mut sim = Sim::new(100, 150, 1);
        for i in 0..50 {
            sim.checkout(i);
            sim.run_for(TICK * 2).await;
            sim.release(i);
        }
        sim.checkout(100).implicit = true;
        sim.run_for(Duration::from_secs(5)).await;
        assert!(sim.reports.is_empty(), "{:?}", sim.reports);
        assert!(
            sim.reclaimed.is_empty(),
            "an implicit checkout is never reclaimed: {:?}",
            sim.reclaimed
        );
    }

    #[tokio::test(start_paused = true)]
    async fn max_leaks_before_alert_holds_back_then_reports_together() {
        let mut sim = Sim::new(100, 0, 3);
        sim.checkout(1);
        sim.run_for(Duration::from_millis(200)).await;
        sim.checkout(2);
        sim.run_for(Duration::from_millis(200)).await;
        assert!(
            sim.reports.is_empty(),
            "two pending leaks must be held back: {:?}",
            sim.reports
        );
        assert!(sim.get(1).marks.held_back && sim.get(2).marks.held_back);
        sim.checkout(3);
        sim.run_for(Duration::from_millis(60)).await;
        assert!(
            sim.reports.is_empty(),
            "the third is not over its threshold yet"
        );
        sim.run_for(Duration::from_millis(60)).await;
        assert_eq!(
            sim.reports,
            vec![vec![1, 2, 3]],
            "reported together, oldest first"
        );
        // Held back again from zero: a fourth alone is not enough.
        sim.checkout(4);
        sim.run_for(Duration::from_secs(1)).await;
        assert_eq!(sim.reports.len(), 1, "{:?}", sim.reports);
        assert!(sim.get(4).marks.held_back);
        for id in 1..=3 {
            assert_eq!(sim.times_reported(id), 1);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_back_leak_released_before_the_batch_is_never_reported() {
        let mut sim = Sim::new(100, 0, 2);
        sim.checkout(1);
        sim.run_for(Duration::from_millis(200)).await;
        sim.release(1);
        sim.checkout(2);
        sim.run_for(Duration::from_millis(200)).await;
        assert!(
            sim.reports.is_empty(),
            "only one leak pending at a time: {:?}",
            sim.reports
        );
        sim.checkout(3);
        sim.run_for(Duration::from_millis(200)).await;
        assert_eq!(sim.reports, vec![vec![2, 3]]);
    }

    #[tokio::test(start_paused = true)]
    async fn per_checkout_overrides_exempt_postpone_and_shorten() {
        let mut sim = Sim::new(100, 0, 1);
        sim.checkout(1).threshold = Some(None); // connect({ leakThresholdMs: 0 })
        sim.checkout(2).threshold = Some(Some(500));
        sim.checkout(3);
        sim.run_for(Duration::from_millis(200)).await;
        assert_eq!(sim.reports, vec![vec![3]]);
        sim.run_for(Duration::from_millis(400)).await;
        assert_eq!(sim.reports, vec![vec![3], vec![2]]);
        sim.run_for(Duration::from_secs(5)).await;
        assert_eq!(
            sim.times_reported(1),
            0,
            "an exempt checkout is never reported"
        );

        // setLeakThreshold after the fact: a pending (held back) leak that becomes exempt
        // is no longer pending; a shorter threshold reports sooner.
        let mut sim = Sim::new(100, 0, 2);
        sim.checkout(10);
        sim.run_for(Duration::from_millis(200)).await;
        assert!(sim.get(10).marks.held_back);
        sim.get(10).threshold = Some(None);
        sim.scan();
        assert!(!sim.get(10).marks.held_back);
        sim.checkout(11).threshold = Some(Some(10_000));
        sim.checkout(12);
        sim.run_for(Duration::from_millis(200)).await;
        assert!(sim.reports.is_empty(), "{:?}", sim.reports);
        sim.get(11).threshold = Some(Some(50));
        sim.scan();
        assert_eq!(sim.reports, vec![vec![11, 12]]);
    }

    #[tokio::test(start_paused = true)]
    async fn force_release_counts_idleness_from_the_last_query_and_never_mid_query() {
        let mut sim = Sim::new(0, 200, 1);
        sim.checkout(1); // idle all along
        sim.checkout(2); // keeps querying every 100 ms
        sim.checkout(3); // one long query
        sim.get(3).in_flight = true;
        for _ in 0..10 {
            sim.run_for(Duration::from_millis(100)).await;
            sim.get(2).last_done = TInstant::now();
        }
        assert_eq!(sim.reclaimed, vec![1], "only the idle checkout");
        assert!(sim.reports.is_empty(), "leakThresholdMs 0: no reports");
        // The long query ends: its idleness starts now, not at checkout (the busy one is in a
        // query meanwhile).
        sim.get(2).in_flight = true;
        sim.get(3).in_flight = false;
        sim.get(3).last_done = TInstant::now();
        sim.run_for(Duration::from_millis(180)).await;
        assert_eq!(sim.reclaimed, vec![1]);
        sim.run_for(Duration::from_millis(40)).await;
        assert_eq!(sim.reclaimed, vec![1, 3]);
        // The busy one's query ends: reclaimed one limit after it, not before.
        sim.get(2).in_flight = false;
        sim.get(2).last_done = TInstant::now();
        sim.run_for(Duration::from_millis(180)).await;
        assert_eq!(sim.reclaimed, vec![1, 3]);
        sim.run_for(Duration::from_millis(40)).await;
        assert_eq!(sim.reclaimed, vec![1, 3, 2]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_leak_over_both_limits_is_reported_then_reclaimed_in_one_scan() {
        let mut sim = Sim::new(100, 100, 1);
        sim.checkout(7).force = Some(Some(100));
        advance(Duration::from_millis(150)).await;
        let plan = sim.scan();
        assert_eq!(
            plan,
            Plan {
                report: vec![7],
                reclaim: vec![7]
            }
        );
    }

    #[test]
    fn effective_thresholds() {
        let pool = Some(Duration::from_millis(30_000));
        assert_eq!(effective_ms(None, pool), Some(30_000));
        assert_eq!(effective_ms(None, None), None);
        assert_eq!(effective_ms(Some(None), pool), None);
        assert_eq!(effective_ms(Some(Some(0)), pool), None);
        assert_eq!(effective_ms(Some(Some(5)), None), Some(5));
        assert!(!report_now(0, 1));
        assert!(report_now(1, 0));
        assert!(!report_now(2, 3));
        assert!(report_now(3, 3));
    }
}
