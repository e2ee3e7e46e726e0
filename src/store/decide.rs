//! The callback group decision, pure: every request of a group decided in order against the
//! stored states the store loaded, and the states earlier requests of the group left. The
//! store loads, calls `decide`, and writes what it returns; nothing here touches a database.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::domain::audit::{Action, NewAuditEntry};
use crate::store::{
    CallbackAnswer, CallbackPayout, CallbackRequest, CallbackVerdict, StoreError, StoreResult,
};

/// A payout's state while `save_callbacks` decides a group in memory.
#[derive(Clone)]
pub(super) struct CallbackSlot {
    pub bank_code: String,
    /// None until a payout new in this group is inserted.
    pub id: Option<i64>,
    /// The current state, or (id, status) when the stored status cannot be read.
    pub current: Result<CallbackPayout, (i64, String)>,
    pub content_sha256: String,
    pub version: i64,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// New in this group: inserted with its final state.
    pub inserted: bool,
    /// Stored before and moved in this group: updated to its final state.
    pub updated: bool,
    /// Every state, in version order: its digest and the answer given for it.
    pub events: Vec<(String, SlotAnswer)>,
}

#[derive(Clone)]
pub(super) enum SlotAnswer {
    /// `answer_json` as stored; parsed only when a replay needs it.
    Stored(String),
    /// Given in this group; its `payout_id` is set once the payout has an id.
    Decided(CallbackAnswer),
}

/// A state decided in this group, to insert into `callback_events`.
pub(super) struct PendingEvent {
    pub slot: usize,
    pub request: usize,
    pub item: usize,
    pub content_sha256: String,
    pub answer: CallbackAnswer,
}

/// Answers of an accepted request; those with a slot get that slot's payout id.
pub(super) type DraftAnswers = Vec<(Option<usize>, CallbackAnswer)>;

/// What a group decided: per request its answers (or its conflict), the states to insert
/// as events, and an audit entry per request that changed something.
pub(super) struct Decided {
    pub outcomes: Vec<Result<DraftAnswers, CallbackVerdict>>,
    pub events: Vec<PendingEvent>,
    pub audits: Vec<(NewAuditEntry, DateTime<Utc>)>,
}

/// Decide `requests` in order. `slots` holds the stored state of every (bank, reference)
/// they name, `index` finds a slot by bank and reference; both are updated with what the
/// accepted requests did (a conflicting request changes nothing). `now` gives each
/// request's time.
pub(super) fn decide(
    requests: &[CallbackRequest],
    slots: &mut Vec<CallbackSlot>,
    index: &mut HashMap<String, HashMap<String, usize>>,
    mut now: impl FnMut() -> DateTime<Utc>,
) -> StoreResult<Decided> {
    let mut outcomes: Vec<Result<DraftAnswers, CallbackVerdict>> =
        Vec::with_capacity(requests.len());
    let mut events: Vec<PendingEvent> = Vec::new();
    let mut audits: Vec<(NewAuditEntry, DateTime<Utc>)> = Vec::new();
    for (ri, req) in requests.iter().enumerate() {
        let at = now();
        let mut staged: HashMap<usize, CallbackSlot> = HashMap::new();
        let mut created: Vec<CallbackSlot> = Vec::new();
        let mut created_at: HashMap<&str, usize> = HashMap::new();
        let mut pending: Vec<PendingEvent> = Vec::new();
        let mut answers: DraftAnswers = Vec::with_capacity(req.items.len());
        let mut wrote = false;
        let mut conflict = None;
        let base = slots.len();
        for (ii, item) in req.items.iter().enumerate() {
            let sha = item.content_sha256();
            let found = created_at
                .get(item.transaction_ref.as_str())
                .copied()
                .or_else(|| {
                    index
                        .get(req.bank_code.as_str())
                        .and_then(|m| m.get(item.transaction_ref.as_str()))
                        .copied()
                });
            let Some(i) = found else {
                let answer = CallbackAnswer {
                    transaction_ref: item.transaction_ref.clone(),
                    payout_id: 0,
                    status: item.status,
                    version: 1,
                    received_at: at,
                };
                let i = base + created.len();
                created.push(CallbackSlot {
                    bank_code: req.bank_code.clone(),
                    id: None,
                    current: Ok(item.clone()),
                    content_sha256: sha.clone(),
                    version: 1,
                    received_at: at,
                    updated_at: at,
                    inserted: true,
                    updated: false,
                    events: vec![(sha.clone(), SlotAnswer::Decided(answer.clone()))],
                });
                created_at.insert(item.transaction_ref.as_str(), i);
                pending.push(PendingEvent {
                    slot: i,
                    request: ri,
                    item: ii,
                    content_sha256: sha,
                    answer: answer.clone(),
                });
                answers.push((Some(i), answer));
                wrote = true;
                continue;
            };
            let slot = if i >= base {
                &mut created[i - base]
            } else {
                staged.entry(i).or_insert_with(|| slots[i].clone())
            };
            // The same content as any earlier state: a replay gets the answer given then.
            if let Some((_, given)) = slot.events.iter().find(|(s, _)| *s == sha) {
                match given {
                    SlotAnswer::Stored(text) => {
                        let answer: CallbackAnswer = serde_json::from_str(text).map_err(|e| {
                            StoreError::Corrupt(format!(
                                "callback payout {}: answer_json: {e}",
                                slot.id.unwrap_or_default()
                            ))
                        })?;
                        answers.push((None, answer));
                    }
                    SlotAnswer::Decided(answer) => answers.push((Some(i), answer.clone())),
                }
                continue;
            }
            let stored = slot.current.as_mut().map_err(|(id, status)| {
                StoreError::Corrupt(format!("callback payout {id}: status '{status}'"))
            })?;
            if let Err(reason) = item.follows(stored) {
                conflict = Some(CallbackVerdict::Conflict {
                    index: ii,
                    transaction_ref: item.transaction_ref.clone(),
                    reason,
                });
                break;
            }
            stored.status = item.status;
            stored.reason = item.reason.clone();
            stored.value_date = item.value_date;
            slot.version += 1;
            slot.content_sha256 = sha.clone();
            slot.updated_at = at;
            slot.updated = !slot.inserted;
            let answer = CallbackAnswer {
                transaction_ref: item.transaction_ref.clone(),
                payout_id: slot.id.unwrap_or_default(),
                status: item.status,
                version: slot.version,
                received_at: at,
            };
            slot.events
                .push((sha.clone(), SlotAnswer::Decided(answer.clone())));
            pending.push(PendingEvent {
                slot: i,
                request: ri,
                item: ii,
                content_sha256: sha,
                answer: answer.clone(),
            });
            answers.push((Some(i), answer));
            wrote = true;
        }
        if let Some(verdict) = conflict {
            outcomes.push(Err(verdict));
            continue;
        }
        for (i, slot) in staged {
            slots[i] = slot;
        }
        for slot in created {
            let tref = match &slot.current {
                Ok(p) => p.transaction_ref.clone(),
                Err(_) => unreachable!("a new payout's state is the item"),
            };
            index
                .entry(req.bank_code.clone())
                .or_default()
                .insert(tref, slots.len());
            slots.push(slot);
        }
        events.append(&mut pending);
        // A pure replay changed nothing and records nothing.
        if wrote {
            audits.push((callback_audit(req), at));
        }
        outcomes.push(Ok(answers));
    }
    Ok(Decided {
        outcomes,
        events,
        audits,
    })
}

/// References only, hashed: the audit log never holds personal IDs.
fn callback_audit(req: &CallbackRequest) -> NewAuditEntry {
    let refs: Vec<&str> = req
        .items
        .iter()
        .map(|i| i.transaction_ref.as_str())
        .collect();
    NewAuditEntry::new(
        &format!("bank:{}", req.token_name),
        Action::CallbackPayouts,
        format!("bank/{}", req.bank_code),
        json!({
            "webhook_id": req.webhook_id,
            "items": req.items.len(),
            "refs_sha256": crate::domain::sha256_hex(refs.join("\n").as_bytes()),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::status::PayoutStatus;
    use proptest::prelude::*;

    fn at() -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_732_250_000, 0).unwrap_or_default()
    }

    fn item(tref: &str, status: PayoutStatus, amount: i64) -> CallbackPayout {
        CallbackPayout {
            transaction_ref: tref.into(),
            period: "2024-09".into(),
            programme: crate::store::DEFAULT_PROGRAMME.into(),
            population_id: Some("025038000101".into()),
            account_number: "4200205123456".into(),
            beneficiary_name: None,
            amount,
            status,
            value_date: chrono::NaiveDate::from_ymd_opt(2024, 9, 20).unwrap_or_default(),
            reason: None,
            unit: None,
        }
    }

    fn request(bank: &str, items: Vec<CallbackPayout>) -> CallbackRequest {
        CallbackRequest {
            bank_code: bank.into(),
            token_name: bank.to_lowercase(),
            webhook_id: "msg".into(),
            items,
        }
    }

    type State = (Vec<CallbackSlot>, HashMap<String, HashMap<String, usize>>);

    fn run(requests: &[CallbackRequest], state: &mut State) -> Decided {
        match decide(requests, &mut state.0, &mut state.1, at) {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        }
    }

    /// What a slot holds, comparable.
    fn view(state: &State) -> Vec<(String, Option<CallbackPayout>, i64)> {
        state
            .0
            .iter()
            .map(|s| (s.bank_code.clone(), s.current.clone().ok(), s.version))
            .collect()
    }

    fn requests() -> impl Strategy<Value = Vec<CallbackRequest>> {
        let status = prop_oneof![
            Just(PayoutStatus::Success),
            Just(PayoutStatus::Failed),
            Just(PayoutStatus::Returned),
        ];
        let one = (0..2usize, 0..3usize, status, 1..3i64)
            .prop_map(|(b, r, st, amount)| (["VBA", "VCB"][b], format!("R{r}"), st, amount));
        prop::collection::vec(prop::collection::vec(one, 1..4), 1..8).prop_map(|reqs| {
            reqs.into_iter()
                .map(|items| {
                    let bank = items[0].0;
                    request(
                        bank,
                        items
                            .into_iter()
                            .map(|(_, r, st, a)| item(&r, st, a))
                            .collect(),
                    )
                })
                .collect()
        })
    }

    #[test]
    fn a_replay_answers_the_same_and_writes_nothing() {
        let r = request("VBA", vec![item("FT1", PayoutStatus::Success, 1)]);
        let mut state: State = Default::default();
        let first = run(std::slice::from_ref(&r), &mut state);
        let again = run(std::slice::from_ref(&r), &mut state);
        assert_eq!(first.outcomes, again.outcomes);
        assert!(again.events.is_empty() && again.audits.is_empty());
        let back = request("VBA", vec![item("FT1", PayoutStatus::Returned, 1)]);
        let moved = run(&[back], &mut state);
        assert_eq!(moved.events.len(), 1, "success → returned is a new state");
        assert_eq!(state.0[0].version, 2);
    }

    proptest! {
        /// A group answers exactly as its requests sent one by one, and ends in the same
        /// state; a conflicting request changes nothing and writes nothing.
        #[test]
        fn a_group_decides_as_its_requests_one_by_one(reqs in requests()) {
            let mut group: State = Default::default();
            let together = run(&reqs, &mut group);
            let mut single: State = Default::default();
            let mut outcomes = Vec::new();
            let mut events = 0;
            for r in &reqs {
                let before = view(&single);
                let d = run(std::slice::from_ref(r), &mut single);
                if matches!(d.outcomes[0], Err(CallbackVerdict::Conflict { .. })) {
                    prop_assert_eq!(view(&single), before, "a conflict changed the state");
                    prop_assert!(d.events.is_empty() && d.audits.is_empty());
                }
                events += d.events.len();
                outcomes.extend(d.outcomes);
            }
            prop_assert_eq!(&together.outcomes, &outcomes);
            prop_assert_eq!(together.events.len(), events);
            prop_assert_eq!(view(&group), view(&single));
        }
    }
}
