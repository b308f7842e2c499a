//! Tests of the miss classifier: stack distances, the 3C classes, true and
//! false sharing decided at completion, stores taken running ahead.
use super::*;

/// Stack distances against the linked-list LRU cache, for several
/// capacities, through many renumberings.

#[test]
fn a_store_past_the_64th_word_of_a_long_line_counts() {
    // 1 KiB lines have 128 words: a store to word 70 after one to word 6 must
    // still reach the core that lost the line (the store memo keeps 64 words).
    let mut cl = MissClassifier::new(2, 4, 1024);
    let line_base = 5 * 1024;
    cl.access(1, line_base, true, Reuse::UNKNOWN);
    cl.lost(1, 5, 0);
    cl.store(0, line_base + 6 * 8, order_key(2, Some(0)));
    cl.store(0, line_base + 70 * 8, order_key(3, Some(0)));
    cl.access(1, line_base + 70 * 8, true, Reuse::UNKNOWN);
    assert_eq!(cl.classes(1).true_sharing, 0, "decided when the miss is served");
    cl.completed(1, order_key(5, None));
    assert_eq!(cl.classes(1).true_sharing, 1);
    // And a store after the miss was served, in simulated time, does not
    // count, though it reaches the classifier first (a core running ahead).
    cl.lost(1, 5, 0);
    cl.store(0, line_base + 8, order_key(9, Some(0)));
    cl.access(1, line_base + 8, true, Reuse::UNKNOWN);
    cl.completed(1, order_key(8, None));
    assert_eq!((cl.classes(1).true_sharing, cl.classes(1).false_sharing), (1, 1));
}

#[test]
fn a_store_while_the_miss_is_in_flight_makes_it_true_sharing() {
    // Core 1 misses on a line it lost before core 0's store to the word is
    // performed; the store is performed before core 1's fill arrives, so the
    // fill brings the new value in: true sharing (Dubois et al.'s essential
    // miss), not false.
    let mut cl = MissClassifier::new(2, 4, 64);
    cl.access(1, 64, true, Reuse::UNKNOWN);
    cl.completed(1, order_key(2, None));
    cl.lost(1, 1, 0);
    cl.access(1, 64, true, Reuse::UNKNOWN);
    cl.store(0, 64, order_key(4, None));
    // Lost again while in flight (an Inv overtaking the fill): a second loss.
    cl.lost(1, 1, order_key(5, None));
    cl.completed(1, order_key(6, None));
    assert_eq!((cl.classes(1).true_sharing, cl.classes(1).false_sharing), (1, 0));
    // The second loss waits for the next miss; no store to word 1 since.
    cl.access(1, 72, true, Reuse::UNKNOWN);
    cl.completed(1, order_key(7, None));
    assert_eq!((cl.classes(1).true_sharing, cl.classes(1).false_sharing), (1, 1));
    // A loss undone (an exclusive grant proved the Inv stale) leaves no trace.
    cl.lost(1, 1, order_key(8, None));
    cl.unlost(1, 1);
    cl.access(1, 72, true, Reuse::new(false, true));
    cl.completed(1, order_key(9, None));
    assert_eq!(cl.classes(1).conflict, 1);
}

#[test]
fn a_store_after_the_fill_was_invalidated_on_its_way_is_not_in_it() {
    // Core 1's miss on a line it lost is in flight when an Inv overtakes its
    // fill (`IS_D_I`): the writer's GetM was ordered after core 1's GetS, so
    // the writer's store, performed before the fill arrives, is not in the
    // fill. The miss is false sharing; the store counts for the next miss.
    let mut cl = MissClassifier::new(2, 4, 64);
    cl.access(1, 64, true, Reuse::UNKNOWN);
    cl.completed(1, order_key(1, None));
    cl.lost(1, 1, order_key(2, None));
    cl.access(1, 72, true, Reuse::UNKNOWN);
    cl.lost(1, 1, order_key(4, None));
    cl.store(0, 72, order_key(5, None));
    cl.completed(1, order_key(6, None));
    assert_eq!((cl.classes(1).true_sharing, cl.classes(1).false_sharing), (0, 1));
    cl.access(1, 72, true, Reuse::UNKNOWN);
    cl.completed(1, order_key(8, None));
    assert_eq!((cl.classes(1).true_sharing, cl.classes(1).false_sharing), (1, 1));
}

#[test]
fn a_store_taken_running_ahead_counts_for_a_loss_told_after_it() {
    // Core 0 holds line 1 and runs ahead on its hits: its stores at cycles 5
    // and 7 reach the classifier before core 1's fill in flight is taken away
    // at cycle 6 (`IS_D_I`). The store at 7 comes after that loss in
    // simulated time, so core 1's next miss on the word is true sharing, as
    // in exact order; the store at 5 does not count for it.
    let run = |ahead: bool, addr: u64| {
        let mut cl = MissClassifier::new(2, 4, 64);
        cl.access(1, 64, true, Reuse::UNKNOWN);
        if ahead {
            cl.turn(4, 5);
            cl.store_hit(0, 64, order_key(5, Some(0)));
            cl.store_hit(0, 64, order_key(7, Some(0)));
            cl.store_hit(0, 72, order_key(5, Some(0)));
            cl.turn(6, 6);
            cl.lost(1, 1, order_key(6, None));
        } else {
            cl.turn(4, 6);
            cl.store_hit(0, 64, order_key(5, Some(0)));
            cl.store_hit(0, 72, order_key(5, Some(0)));
            cl.turn(6, 7);
            cl.lost(1, 1, order_key(6, None));
            cl.turn(7, 8);
            cl.store_hit(0, 64, order_key(7, Some(0)));
        }
        cl.completed(1, order_key(8, None));
        cl.access(1, addr, true, Reuse::UNKNOWN);
        cl.completed(1, order_key(12, None));
        let c = cl.classes(1);
        (c.compulsory, c.true_sharing, c.false_sharing)
    };
    for ahead in [false, true] {
        assert_eq!(run(ahead, 64), (1, 1, 0), "word 0, running ahead: {ahead}");
        assert_eq!(run(ahead, 72), (1, 0, 1), "word 1, running ahead: {ahead}");
    }
}

#[test]
fn the_store_memo_forgets_lines_nobody_lost_once_one_is_lost() {
    // Line 5 shares its filter bucket with a line core 2 lost, so stores to
    // it reach the memo, which remembers that nobody lost line 5 ...
    let line = 5u64;
    let other = (6..).find(|&l| MissClassifier::bucket(l) == MissClassifier::bucket(line)).unwrap();
    // Stores by turns to a line in the same memo set exercise the set's
    // replacement on the way.
    let rival = (other + 1..).find(|&l| MissClassifier::memo_slot(l) == MissClassifier::memo_slot(line)).unwrap();
    let mut cl = MissClassifier::new(3, 4, 64);
    let addr = |l: u64, word: u64| l * 64 + word * 8;
    cl.access(2, addr(other, 0), true, Reuse::UNKNOWN);
    cl.lost(2, other, 0);
    cl.access(1, addr(line, 3), true, Reuse::UNKNOWN);
    for t in 3..6 {
        cl.store(0, addr(line, 3), order_key(t, Some(0)));
        cl.store(0, addr(rival, 0), order_key(t, Some(0)));
    }
    // Core 1 loses line 5: core 0's next store to word 3 is a true-sharing
    // write for core 1, however often the memo saw that word before.
    cl.lost(1, line, 0);
    cl.store(0, addr(line, 3), order_key(7, Some(0)));
    cl.access(1, addr(line, 3), true, Reuse::UNKNOWN);
    cl.completed(1, order_key(9, None));
    assert_eq!((cl.classes(1).true_sharing, cl.classes(1).false_sharing), (1, 0));
}
