//! Whether one more session fits: `--max-sessions` and `--memory-budget` (the sum of the
//! sessions' `maxBytes`, what their rings may hold at most).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_sessions: Option<usize>,
    pub memory_budget: u64,
}

/// Which limit a session would break, and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    MaxSessions { limit: usize },
    MemoryBudget { budget: u64, held: u64, asked: u64 },
}

impl Refusal {
    /// The limit's name, as its flag says it.
    pub fn limit(&self) -> &'static str {
        match self {
            Refusal::MaxSessions { .. } => "max-sessions",
            Refusal::MemoryBudget { .. } => "memory-budget",
        }
    }

    pub fn value(&self) -> u64 {
        match *self {
            Refusal::MaxSessions { limit } => limit as u64,
            Refusal::MemoryBudget { budget, .. } => budget,
        }
    }

    pub fn detail(&self) -> String {
        match *self {
            Refusal::MaxSessions { limit } => format!(
                "the service holds {limit} sessions, as many as --max-sessions allows; stop one \
                 (POST .../stop-buffer) or start the service with a higher --max-sessions"
            ),
            Refusal::MemoryBudget {
                budget,
                held,
                asked,
            } => format!(
                "the sessions' rings may hold {held} bytes and this one asks for {asked} more, \
                 over the --memory-budget of {budget} bytes; ask for a smaller maxBytes, stop a \
                 session, or raise --memory-budget"
            ),
        }
    }
}

/// `held`: the `maxBytes` of every session that holds (or is starting) a ring.
pub fn admit(limits: Limits, held: &[u64], asked: u64) -> Result<(), Refusal> {
    if let Some(limit) = limits.max_sessions {
        if held.len() >= limit {
            return Err(Refusal::MaxSessions { limit });
        }
    }
    let held: u64 = held
        .iter()
        .fold(0u64, |sum, bytes| sum.saturating_add(*bytes));
    if held.saturating_add(asked) > limits.memory_budget {
        return Err(Refusal::MemoryBudget {
            budget: limits.memory_budget,
            held,
            asked,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_admitted_within_both_limits() {
        let limits = Limits {
            max_sessions: Some(2),
            memory_budget: 1000,
        };
        assert_eq!(admit(limits, &[], 1000), Ok(()));
        assert_eq!(admit(limits, &[600], 400), Ok(()));
        let over = admit(limits, &[600], 401).unwrap_err();
        assert_eq!((over.limit(), over.value()), ("memory-budget", 1000));
        assert!(over.detail().contains("401"));
        let full = admit(limits, &[1, 1], 1).unwrap_err();
        assert_eq!(full, Refusal::MaxSessions { limit: 2 });
        assert_eq!((full.limit(), full.value()), ("max-sessions", 2));
        let unlimited = Limits {
            max_sessions: None,
            memory_budget: u64::MAX,
        };
        assert_eq!(admit(unlimited, &[1 << 40; 1000], 1 << 40), Ok(()));
    }
}
