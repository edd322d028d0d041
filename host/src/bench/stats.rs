//! The statistics of a report: quantiles, ranks and number formatting.

/// The `q`-quantile (`0 ≤ q ≤ 1`) of `values` by linear interpolation between order statistics
/// (numpy's default, "type 7"); `None` when empty. NaNs are ignored.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

/// The median.
pub fn median(values: &[f64]) -> Option<f64> {
    quantile(values, 0.5)
}

/// The interquartile range, q75 − q25.
pub fn iqr(values: &[f64]) -> Option<f64> {
    Some(quantile(values, 0.75)? - quantile(values, 0.25)?)
}

/// The arithmetic mean; `None` when empty.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Ranks from 1 (best) of `losses` (lower is better; `None` is worse than any number), ties
/// sharing the mean of the ranks they span.
pub fn ranks(losses: &[Option<f64>]) -> Vec<f64> {
    let key = |x: Option<f64>| x.unwrap_or(f64::INFINITY);
    let mut order: Vec<usize> = (0..losses.len()).collect();
    order.sort_by(|&a, &b| key(losses[a]).total_cmp(&key(losses[b])));
    let mut out = vec![0.0; losses.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && key(losses[order[j + 1]]) == key(losses[order[i]]) {
            j += 1;
        }
        // Positions i..=j tie: each gets the mean of ranks i+1..=j+1.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = rank;
        }
        i = j + 1;
    }
    out
}

/// `x` with `sig` significant digits, like C's `%.{sig}g`: fixed notation for moderate
/// magnitudes, scientific (`1.81e-05`) otherwise, trailing zeros removed.
pub fn sig(x: f64, sig: usize) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".into();
    }
    let sig = sig.max(1);
    // The exponent after rounding to `sig` digits (9.99995 rounds up a decade).
    let rounded: f64 = format!("{:.*e}", sig - 1, x).parse().unwrap_or(x);
    let exp = rounded.abs().log10().floor() as i32;
    if exp < -4 || exp >= sig as i32 {
        let s = format!("{:.*e}", sig - 1, x);
        let (mantissa, e) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = trim_zeros(mantissa);
        let e: i32 = e.parse().unwrap_or(0);
        format!("{mantissa}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
    } else {
        let decimals = (sig as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{x:.decimals$}")).to_owned()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [7.0, 1.0, 3.0, 5.0];
        assert_eq!(median(&v), Some(4.0));
        assert_eq!(quantile(&v, 0.25), Some(2.5));
        assert_eq!(quantile(&v, 0.75), Some(5.5));
        assert_eq!(iqr(&v), Some(3.0));
        assert_eq!(median(&[2.0]), Some(2.0));
        assert_eq!(iqr(&[2.0]), Some(0.0));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, f64::NAN, 3.0]), Some(2.0));
        assert_eq!(mean(&[1.0, 2.0, 6.0]), Some(3.0));
    }

    #[test]
    fn ties_share_ranks_and_missing_values_rank_last() {
        assert_eq!(ranks(&[Some(3.0), Some(1.0), Some(2.0)]), [3.0, 1.0, 2.0]);
        assert_eq!(
            ranks(&[Some(1.0), Some(1.0), Some(0.5), None]),
            [2.5, 2.5, 1.0, 4.0]
        );
        assert_eq!(ranks(&[None, None]), [1.5, 1.5]);
    }

    #[test]
    fn numbers_print_like_percent_g() {
        assert_eq!(sig(0.596291, 5), "0.59629");
        assert_eq!(sig(82651.2, 5), "82651");
        assert_eq!(sig(182651.2, 5), "1.8265e+05");
        assert_eq!(sig(2600.0, 3), "2.6e+03");
        assert_eq!(sig(1.81e-5, 3), "1.81e-05");
        assert_eq!(sig(0.000123456, 5), "0.00012346");
        assert_eq!(sig(-3.32237, 5), "-3.3224");
        assert_eq!(sig(9.99996, 5), "10");
        assert_eq!(sig(0.0, 5), "0");
        assert_eq!(sig(2.0, 5), "2");
    }
}
