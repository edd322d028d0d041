//! Short human-readable renderings of values and parameters, and writing text to stdout.

use hyperplug_core::Params;

/// `0.0123` or `[0.5, 2.0]`: values with up to 6 significant digits.
pub fn values_text(values: &[f64]) -> String {
    match values {
        [] => "-".into(),
        [v] => number(*v),
        vs => format!(
            "[{}]",
            vs.iter().map(|v| number(*v)).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// `lr=0.001, layers=2`.
pub fn params_text(params: &Params) -> String {
    params
        .iter()
        .map(|(k, v)| match v.as_f64() {
            Some(x) if v.as_i64().is_none() => format!("{k}={}", number(x)),
            _ => format!("{k}={v}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A number with up to 6 significant digits, in scientific notation when very small or large.
pub fn number(x: f64) -> String {
    if x == 0.0 || (1e-4..1e6).contains(&x.abs()) {
        let s = format!(
            "{:.*}",
            (5 - x.abs().log10().floor().max(-1.0) as i32).max(0) as usize,
            x
        );
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    } else {
        format!("{x:.5e}")
    }
}

/// Writes `text` to stdout. Unlike `print!`, which panics, a reader that has gone (`| head`)
/// comes back as an error, which the binary's `main` takes for the success it is.
pub fn print_out(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(0.397887357), "0.397887");
        assert_eq!(number(1234.5678), "1234.57");
        assert_eq!(number(-3.32236801), "-3.32237");
        assert_eq!(number(3.19e-5), "3.19000e-5");
        assert_eq!(values_text(&[1.0, 2.5]), "[1, 2.5]");
    }
}
