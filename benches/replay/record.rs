//! The benchmark's output: one JSON object per line on stdout, read by `benches/report.py`.

use std::io::Write;

/// One JSON object; values are numbers, strings or JSON written by the caller.
pub struct Record(Vec<(String, String)>);

impl Record {
    pub fn new(bench: &str) -> Record {
        Record(vec![("bench".into(), format!("\"{bench}\""))])
    }

    pub fn s(mut self, key: &str, value: &str) -> Record {
        // The values are labels and paths: a quote is the only character that would need
        // escaping, and report.py does not care which quote it sees.
        self.0
            .push((key.into(), format!("\"{}\"", value.replace('"', "'"))));
        self
    }

    /// A number; NaN and infinities (a ratio over nothing) become `null`.
    pub fn n(mut self, key: &str, value: f64) -> Record {
        let v = if value.is_finite() {
            format!("{value}")
        } else {
            "null".into()
        };
        self.0.push((key.into(), v));
        self
    }

    /// A value that is already JSON (an array of points).
    pub fn json(mut self, key: &str, value: String) -> Record {
        self.0.push((key.into(), value));
        self
    }

    pub fn emit(self) {
        let body: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("\"{k}\": {v}"))
            .collect();
        println!("{{{}}}", body.join(", "));
        // run.sh appends to a file: a crash later in the run must not lose finished records.
        let _ = std::io::stdout().flush();
    }
}
