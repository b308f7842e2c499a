//! Tests of the L1 tables: copy losses, what messages can do, mutated rows.

use super::*;

/// `actions` with every `from` replaced by `to` (or dropped when `to` is None).
fn substituted(actions: &[L1Action], from: L1Action, to: Option<L1Action>) -> Vec<L1Action> {
    actions.iter().filter_map(|&a| if a == from { to } else { Some(a) }).collect()
}

/// Every mutation's overrides, pair by pair, against what the mutation says
/// it does to the table: an override exists exactly where the bug changes a
/// row (so a new row the bug should reach cannot be missed), and a mutant
/// action appears in no table row.
#[test]
fn mutated_rows_change_exactly_what_the_mutation_says() {
    for protocol in [Protocol::Msi, Protocol::Mesi, Protocol::Moesi] {
        for state in L1State::ALL {
            for event in L1Event::ALL {
                let normal = row(protocol, state, event);
                if let Some(r) = normal {
                    assert!(!r.actions.contains(&ForgetAcks), "{protocol} {state:?} {event:?}");
                }
                for m in Mutation::ALL {
                    let got = mutated_row(m, protocol, state, event).map(|r| (r.actions.to_vec(), r.next));
                    let Some(n) = normal else {
                        assert_eq!(got, None, "{m:?} adds a row: {protocol} {state:?} {event:?}");
                        continue;
                    };
                    let has = |a: L1Action| n.actions.contains(&a);
                    let expected = match m {
                        Mutation::SkipInvAck if state == S && event == Ev::Inv => {
                            Some((substituted(n.actions, InvAckToRequester, None), n.next))
                        }
                        Mutation::NoDataToDirectory if has(DataToRequesterAndDir) => {
                            Some((substituted(n.actions, DataToRequesterAndDir, Some(DataToRequester)), n.next))
                        }
                        Mutation::IgnoreData if has(StoreData) => {
                            Some((substituted(n.actions, StoreData, None), n.next))
                        }
                        // Data with acks due completes as if none were; an
                        // AckCount with acks due forgets them.
                        Mutation::SkipAckWait if event == Ev::DataAwaitAcks => {
                            Some((vec![StoreData, ForgetAcks, Complete], Some(M)))
                        }
                        Mutation::SkipAckWait if event == Ev::AckCount => {
                            Some((substituted(n.actions, AddAcks, Some(ForgetAcks)), n.next))
                        }
                        Mutation::DropDirtyLine if state == M && event == Ev::Replacement => Some((vec![], Some(I))),
                        _ => None,
                    };
                    assert_eq!(got, expected, "{m:?}: {protocol} {state:?} {event:?}");
                }
            }
        }
    }
}

/// Every row of every protocol in which another core's write (Inv or
/// Fwd-GetM) changes the state, with what the miss classifier makes of it.
/// The expected list was written by hand from the tables' comments: only a
/// copy the core would otherwise have hit on again counts as lost.
#[test]
fn what_messages_can_do_at_an_l1_read_off_the_tables() {
    for protocol in [Protocol::Msi, Protocol::Mesi, Protocol::Moesi] {
        // A Put-Ack only frees a write-back slot: no answer, no completion,
        // no hit lost (by hand from the MI_A/EI_A/OI_A/SI_A/II_A rows).
        assert_eq!(reach(protocol, &[L1Event::PutAck]), Reach::default(), "{protocol}");
        // Data completes a miss and sends nothing.
        let data = reach(protocol, &[L1Event::Data, L1Event::DataAwaitAcks, L1Event::ExclusiveData]);
        assert!(data.completes && !data.sends, "{protocol}");
        // An Inv is answered and takes S away (S -> I); it completes nothing.
        let inv = reach(protocol, &[L1Event::Inv]);
        assert_eq!(inv, Reach { sends: true, completes: false, narrows_hits: true }, "{protocol}");
        // The last Inv-Ack completes a store miss.
        assert!(reach(protocol, &[L1Event::InvAck, L1Event::LastInvAck]).completes);
    }
    // Only MOESI's owner upgrade waits for an AckCount.
    assert!(reach(Protocol::Moesi, &[L1Event::AckCount, L1Event::AckCountLast]).completes);
    assert_eq!(reach(Protocol::Mesi, &[L1Event::AckCount, L1Event::AckCountLast]), Reach::default());
}

#[test]
fn the_rows_that_lose_a_copy_to_another_cores_write() {
    let mut lost = Vec::new();
    let mut not_lost = Vec::new();
    for protocol in [Protocol::Msi, Protocol::Mesi, Protocol::Moesi] {
        for state in L1State::ALL {
            for event in [L1Event::Inv, L1Event::FwdGetM] {
                let Some(next) = row(protocol, state, event).and_then(|r| r.next) else { continue };
                let name = format!("{} {} -> {}", state.name(), event.name(), next.name());
                match copy_loss(state, event, next) {
                    CopyLoss::Lost => lost.push(name),
                    CopyLoss::None => not_lost.push(name),
                    CopyLoss::Kept => panic!("{name}"),
                }
            }
        }
    }
    for v in [&mut lost, &mut not_lost] {
        v.sort();
        v.dedup();
    }
    let expected_lost = ["E Fwd-GetM -> I", "IS_D Inv -> IS_D_I", "M Fwd-GetM -> I", "O Fwd-GetM -> I", "S Inv -> I"];
    assert_eq!(lost, expected_lost);
    // Upgrades in flight and lines already in the write-back buffer.
    let expected_not = [
        "EI_A Fwd-GetM -> II_A",
        "MI_A Fwd-GetM -> II_A",
        "OI_A Fwd-GetM -> II_A",
        "OM_AC Fwd-GetM -> IM_AD",
        "SI_A Inv -> II_A",
        "SM_AD Inv -> IM_AD",
    ];
    assert_eq!(not_lost, expected_not);
    // And the one row that undoes a loss.
    assert_eq!(copy_loss(L1State::IS_D_I, L1Event::ExclusiveData, L1State::E), CopyLoss::Kept);
    assert_eq!(row(Protocol::Mesi, L1State::IS_D_I, L1Event::ExclusiveData).and_then(|r| r.next), Some(L1State::E));
}
